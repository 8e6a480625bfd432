"""Cairn: the ML platform from Python. ``from cairn import Cairn``; see README.md."""
from . import mlflow
from .client import (ApprovalRequest, Cairn, Deployment, Experiment, Job, Model, Sweep)
from .errors import (APIError, CairnError, ConfigError, Conflict, Forbidden, InvalidInput, JobFailed, JobTimeout,
                     NotFound, QuotaExceeded, RateLimited, ServerError, Unauthenticated, UpstreamUnavailable)

__version__ = "0.1.0"
__all__ = ["Cairn", "Experiment", "Job", "Model", "Sweep", "Deployment", "ApprovalRequest", "CairnError", "ConfigError", "APIError",
           "InvalidInput", "Unauthenticated", "Forbidden", "NotFound", "Conflict", "QuotaExceeded", "RateLimited",
           "UpstreamUnavailable", "ServerError", "JobFailed", "JobTimeout", "mlflow"]
