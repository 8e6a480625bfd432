"""Where the SDK finds its URL and token: arguments, then CAIRN_URL/CAIRN_TOKEN, then the CLI's config file."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, Optional, Tuple

import click

from .errors import ConfigError


def config_path() -> Path:
    """The CLI's config file: $CAIRN_CONFIG, else config.json in the user config dir (e.g. ~/.config/cairn)."""
    explicit = os.environ.get("CAIRN_CONFIG")
    if explicit:
        return Path(explicit)
    return Path(click.get_app_dir("cairn")) / "config.json"


def load_config() -> Dict[str, str]:
    path = config_path()
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise ConfigError(f"Cannot read {path}: {err}. Run `cairn login` again.") from err
    return {k: str(v) for k, v in data.items() if isinstance(v, (str, int))} if isinstance(data, dict) else {}


def save_config(url: str, token: str) -> Path:
    """Write URL and token to the config file, readable by its owner only (0600)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"url": url, "token": token}, fh, indent=2)
    os.chmod(path, 0o600)
    return path


def resolve(url: Optional[str], token: Optional[str]) -> Tuple[str, str]:
    """Explicit values win, then the environment, then the config file."""
    stored: Dict[str, str] = {}
    if not (url or os.environ.get("CAIRN_URL")) or not (token or os.environ.get("CAIRN_TOKEN")):
        stored = load_config()
    final_url = url or os.environ.get("CAIRN_URL") or stored.get("url")
    # The stored token goes only to the server it was stored for: never hand it to another URL.
    same_server = final_url is not None and final_url.rstrip("/") == (stored.get("url") or "").rstrip("/")
    final_token = token or os.environ.get("CAIRN_TOKEN") or (stored.get("token") if same_server else None)
    if not final_url:
        raise ConfigError("No Cairn URL: pass url=..., set CAIRN_URL, or run `cairn login --url URL --token TOKEN`.")
    if not final_token:
        raise ConfigError("No API token: pass token=..., set CAIRN_TOKEN, or run `cairn login` (mint one under Settings → API tokens).")
    return final_url.rstrip("/"), final_token
