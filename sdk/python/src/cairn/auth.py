"""Mint an API token by signing in with email and password (next-auth credentials), as the portal does."""
from __future__ import annotations

from typing import Any, Dict

import httpx

from ._http import raise_for
from .errors import Unauthenticated


def mint_token(url: str, email: str, password: str, team: str, *, name: str = "cairn-cli", expires_in_days: int = 30,
               timeout: float = 30.0) -> Dict[str, Any]:
    """Sign in and create a token acting in ``team``; answers ``{id, token, prefix, team, expires_at}``."""
    base = url.rstrip("/")
    with httpx.Client(base_url=base, timeout=timeout, follow_redirects=False) as http:
        csrf = http.get("/api/auth/csrf")
        if csrf.status_code >= 400:
            raise_for(csrf)
        signin = http.post("/api/auth/callback/credentials",
                           data={"csrfToken": csrf.json()["csrfToken"], "email": email, "password": password, "json": "true"})
        location = signin.headers.get("location", "")
        if signin.status_code >= 400 or "error=" in location or "error" in (signin.json() if "json" in signin.headers.get("content-type", "") else {}).get("url", ""):
            raise Unauthenticated(f"Sign-in as {email} failed: check the email and password.", status=401)
        answer = http.post("/api/v1/tokens", json={"name": name, "team": team, "expires_in_days": expires_in_days},
                           headers={"Origin": base})
        if answer.status_code >= 400:
            raise_for(answer)
        return dict(answer.json())
