"""Typed exceptions. Every API refusal carries the API's ``code``, ``message``, ``fields``, ``request_id`` and,
when the server exports traces, ``trace_id``."""
from __future__ import annotations

from typing import Any, Dict, List, Optional


class CairnError(Exception):
    """Base class of every error the SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(CairnError):
    """No URL or token: pass them, set CAIRN_URL/CAIRN_TOKEN, or run `cairn login`."""


class APIError(CairnError):
    """The API answered with an error: ``{"error": {"code", "message", "fields"?, "request_id", "trace_id"?}}``."""

    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: Optional[str] = None,
        fields: Optional[Dict[str, List[str]]] = None,
        request_id: Optional[str] = None,
        trace_id: Optional[str] = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        if code is not None:
            self.code = code
        self.fields: Dict[str, List[str]] = fields or {}
        self.request_id = request_id
        # The request's OpenTelemetry trace (the server's OTEL_EXPORTER_OTLP_ENDPOINT is set), to find it in Jaeger/Tempo.
        self.trace_id = trace_id
        self.body = body

    def __str__(self) -> str:
        text = f"{self.message} ({self.code}, HTTP {self.status})"
        if self.fields:
            text += " — " + "; ".join(f"{k}: {', '.join(v)}" for k, v in self.fields.items())
        return text


class InvalidInput(APIError):
    code = "invalid_input"


class Unauthenticated(APIError):
    code = "unauthenticated"


class Forbidden(APIError):
    code = "forbidden"


class NotFound(APIError):
    code = "not_found"


class Conflict(APIError):
    code = "conflict"


class QuotaExceeded(Conflict):
    code = "quota_exceeded"


class RateLimited(APIError):
    code = "rate_limited"


class UpstreamUnavailable(APIError):
    code = "upstream_unavailable"


class ServerError(APIError):
    code = "internal"


_BY_CODE = {
    "invalid_input": InvalidInput,
    "unauthenticated": Unauthenticated,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "conflict": Conflict,
    "quota_exceeded": QuotaExceeded,
    "rate_limited": RateLimited,
    "upstream_unavailable": UpstreamUnavailable,
    "internal": ServerError,
    # MLflow's error codes, from the registry and tracking endpoints (/api/2.0/mlflow/...).
    "invalid_parameter_value": InvalidInput,
    "resource_already_exists": Conflict,
    "resource_does_not_exist": NotFound,
    "permission_denied": Forbidden,
}
_BY_STATUS = {400: InvalidInput, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: Conflict, 422: InvalidInput,
              429: RateLimited, 502: UpstreamUnavailable, 503: UpstreamUnavailable}


def error_from_response(status: int, body: Any, text: str = "") -> APIError:
    """Build the typed error for an API answer (the v1 shape, MLflow's shape, the gateway's, or plain text)."""
    code: Optional[str] = None
    message = ""
    fields: Optional[Dict[str, List[str]]] = None
    request_id: Optional[str] = None
    trace_id: Optional[str] = None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            code = err.get("code")
            message = str(err.get("message") or "")
            raw_fields = err.get("fields")
            if isinstance(raw_fields, dict):
                fields = {str(k): [str(x) for x in (v if isinstance(v, list) else [v])] for k, v in raw_fields.items()}
            request_id = err.get("request_id")
            trace_id = err.get("trace_id")
        elif isinstance(err, str):
            message = err
        elif "error_code" in body:  # MLflow's shape
            code = str(body["error_code"]).lower()
            message = str(body.get("message") or "")
            trace_id = body.get("trace_id")
    if not message:
        message = text.strip()[:500] or f"HTTP {status}"
    cls = _BY_CODE.get(code or "") or _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    return cls(message, status=status, code=code or cls.code, fields=fields, request_id=request_id, trace_id=trace_id, body=body)


class JobFailed(CairnError):
    """A job ended failed or cancelled; ``message`` is the job's own reason."""

    def __init__(self, job: Any, message: str, log_tail: Optional[List[str]] = None, failure: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(message)
        self.job = job
        #: The job's last lines of output (its own error is usually the last one).
        self.log_tail: List[str] = list(log_tail or [])
        #: The cause Cairn found in the log, ``{"summary", "kind", "line"?}`` (kind: exception, oom, missing_module,
        #: not_found, permission, timeout, signal, exit), or None.
        self.failure: Optional[Dict[str, Any]] = failure
        self.kind: Optional[str] = failure.get("kind") if failure else None
        self.status: str = getattr(job, "status", "failed")
        self.exit_code: Optional[int] = getattr(job, "exit_code", None)

    def __str__(self) -> str:
        text = f"Job {getattr(self.job, 'id', '?')} {self.status}: {self.message}"
        # A cause found in the log already names the telling line; the last output line is added only without one.
        named = bool(self.failure and self.failure.get("line"))
        return text + (f" — last output: {self.log_tail[-1]}" if self.log_tail and not named else "")


class JobTimeout(CairnError, TimeoutError):
    """``job.wait(timeout=...)`` ran out of time; the job keeps running."""
