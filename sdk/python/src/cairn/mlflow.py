"""Point the official ``mlflow`` client at Cairn with the same URL and token."""
from __future__ import annotations

import importlib
import os
from typing import Dict, Optional

from .config import resolve


def configure(url: Optional[str] = None, token: Optional[str] = None, *, experiment: Optional[str] = None) -> Dict[str, str]:
    """Set MLFLOW_TRACKING_URI and MLFLOW_TRACKING_TOKEN (and, if mlflow is imported, its tracking URI).
    Returns the variables it set."""
    final_url, final_token = resolve(url, token)
    values = {"MLFLOW_TRACKING_URI": final_url, "MLFLOW_TRACKING_TOKEN": final_token}
    os.environ.update(values)
    try:
        mlflow = importlib.import_module("mlflow")
    except ImportError:
        return values
    mlflow.set_tracking_uri(final_url)
    if experiment is not None:
        mlflow.set_experiment(experiment)
    return values
