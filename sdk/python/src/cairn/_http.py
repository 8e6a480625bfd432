"""The HTTP core: bearer auth, typed errors, retries with backoff on 429/502/503 (honouring Retry-After)."""
from __future__ import annotations

import email.utils
import random
import time
from typing import Any, Callable, Dict, Iterator, Mapping, Optional

import httpx

from .errors import error_from_response

RETRY_STATUSES = frozenset({429, 502, 503})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "DELETE", "PUT"})


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _clean(params: Optional[Mapping[str, Any]]) -> Optional[Dict[str, Any]]:
    if params is None:
        return None
    out: Dict[str, Any] = {}
    for k, v in params.items():
        if v is None:
            continue
        out[k] = ("true" if v else "false") if isinstance(v, bool) else v
    return out


class Transport:
    """A thin wrapper over ``httpx.Client``; every call returns the decoded JSON (or raises a typed error)."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        max_retries: int = 4,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self.http = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "User-Agent": "cairn-python/0.1"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self.http.close()

    def delay(self, attempt: int, response: Optional[httpx.Response]) -> float:
        hinted = retry_after_seconds(response.headers.get("retry-after")) if response is not None else None
        if hinted is not None:
            return float(min(hinted, self.max_backoff))
        return float(min(self.backoff * (2 ** attempt), self.max_backoff) * (0.5 + random.random() / 2))

    def send(self, method: str, path: str, *, params: Optional[Mapping[str, Any]] = None, json: Any = None,
             content: Any = None, headers: Optional[Mapping[str, str]] = None, timeout: Any = None) -> httpx.Response:
        """Send with retries; return the response when it is a success, raise the typed error otherwise."""
        attempt = 0
        while True:
            try:
                extra: Dict[str, Any] = {}
                if timeout is not None:
                    extra["timeout"] = timeout
                response = self.http.request(method, path, params=_clean(params), json=json, content=content,
                                             headers=dict(headers or {}), **extra)
            except httpx.TransportError:
                # A connection that failed before any answer: safe to repeat for idempotent calls only.
                if method.upper() not in IDEMPOTENT or attempt >= self.max_retries:
                    raise
                self._sleep(self.delay(attempt, None))
                attempt += 1
                continue
            # 429 and 503 are answers given before anything was done (a limit, nothing serving), so any call may be
            # repeated; a 502 may come from a proxy after the server acted, so only idempotent calls repeat it.
            retryable = response.status_code in RETRY_STATUSES and (method.upper() in IDEMPOTENT or response.status_code != 502)
            if retryable and attempt < self.max_retries:
                self._sleep(self.delay(attempt, response))
                attempt += 1
                continue
            if response.status_code >= 400:
                raise_for(response)
            return response

    def request(self, method: str, path: str, **kw: Any) -> Any:
        response = self.send(method, path, **kw)
        if response.status_code == 204 or not response.content:
            return None
        ctype = response.headers.get("content-type", "")
        return response.json() if "json" in ctype else response.text

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.request("DELETE", path, **kw)

    def paged(self, path: str, key: str, params: Optional[Mapping[str, Any]] = None) -> Iterator[Dict[str, Any]]:
        """Every item of a paged list, following ``next_page_token`` until it is empty."""
        query = dict(params or {})
        while True:
            page = self.get(path, params=query)
            for item in page.get(key, []):
                yield item
            token = page.get("next_page_token")
            if not token:
                return
            query["page_token"] = token


def raise_for(response: httpx.Response) -> None:
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    raise error_from_response(response.status_code, body, response.text)
