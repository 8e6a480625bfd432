// MLflow's wire conventions: JSON that may carry NaN/Infinity, query strings with repeated keys,
// and its error shape {"error_code": "...", "message": "..."} with MLflow's status codes.
import { ZodError } from "zod";
import { AppError } from "../errors";
import { zodFieldErrors } from "../http/errors";
import { log } from "../observability/log";
import { currentTraceIds } from "../observability/tracing";

/** A JSON string (kept as it is) or a bare NaN / Infinity / -Infinity token outside strings (quoted). */
const BARE_TOKENS = /"(?:[^"\\]|\\.)*"|-Infinity|Infinity|NaN/g;

/** The longest text read with bare NaN / Infinity tokens (a 1000-metric batch is ≈ 80 KB). */
export const LENIENT_JSON_MAX_CHARS = 1024 * 1024;

/**
 * Parses JSON, accepting the bare NaN / Infinity / -Infinity tokens Python's json module writes, in a text of up to
 * LENIENT_JSON_MAX_CHARS. One regex pass, and only for text that holds such a token: a 16 MiB body of junk is refused
 * as quickly as JSON.parse refuses it (a character-by-character rewrite took 2 s of the event loop for it), and the
 * worst text that does hold them costs ~50 ms.
 */
export function parseLenientJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const malformed = new AppError("invalid_input", "Malformed JSON in the request body.");
    if (!text.includes("NaN") && !text.includes("Infinity")) throw malformed;
    if (text.length > LENIENT_JSON_MAX_CHARS) {
      throw new AppError("invalid_input", `Malformed JSON in the request body: bare NaN or Infinity is read only in a body of up to ${LENIENT_JSON_MAX_CHARS} characters; send such values as the strings "NaN", "Infinity", "-Infinity".`);
    }
    // The bare tokens outside strings become sentinel strings; then parse again.
    const quoted = text.replace(BARE_TOKENS, (m) => (m.charCodeAt(0) === 34 ? m : `"${m}"`));
    try {
      return JSON.parse(quoted);
    } catch {
      throw malformed;
    }
  }
}

export function queryObject(url: URL): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(url.searchParams.keys())) {
    const all = url.searchParams.getAll(key);
    out[key] = all.length > 1 || key.endsWith("_ids") ? all : all[0]!;
  }
  return out;
}

const MLFLOW_CODES: Record<string, { error_code: string; status: number }> = {
  invalid_input: { error_code: "INVALID_PARAMETER_VALUE", status: 400 },
  not_found: { error_code: "RESOURCE_DOES_NOT_EXIST", status: 404 },
  conflict: { error_code: "RESOURCE_ALREADY_EXISTS", status: 400 },
  forbidden: { error_code: "PERMISSION_DENIED", status: 403 },
  unauthenticated: { error_code: "UNAUTHENTICATED", status: 401 },
  rate_limited: { error_code: "REQUEST_LIMIT_EXCEEDED", status: 429 },
  quota_exceeded: { error_code: "RESOURCE_EXHAUSTED", status: 429 },
  budget_exceeded: { error_code: "PERMISSION_DENIED", status: 403 },
  upstream_unavailable: { error_code: "TEMPORARILY_UNAVAILABLE", status: 503 },
  not_implemented: { error_code: "NOT_IMPLEMENTED", status: 501 },
};

export function mlflowError(code: string, message: string, status: number, requestId?: string): Response {
  // MLflow's error shape, plus the trace id when tracing is on (clients ignore fields they do not know).
  const traceId = currentTraceIds()?.traceId;
  return Response.json({ error_code: code, message, ...(traceId ? { trace_id: traceId } : {}) }, { status, headers: requestId ? { "x-request-id": requestId } : {} });
}

export function mlflowErrorResponse(err: unknown, requestId: string): Response {
  if (err instanceof ZodError) {
    const fields = zodFieldErrors(err);
    const message = Object.entries(fields).map(([k, v]) => `${k}: ${v.join(", ")}`).join("; ");
    return mlflowError("INVALID_PARAMETER_VALUE", `Invalid request: ${message}`, 400, requestId);
  }
  if (err instanceof AppError) {
    const mapped = MLFLOW_CODES[err.code] ?? { error_code: "INTERNAL_ERROR", status: 500 };
    const response = mlflowError(mapped.error_code, err.message, mapped.status, requestId);
    if (err.retryAfterSeconds !== undefined) response.headers.set("retry-after", String(err.retryAfterSeconds));
    return response;
  }
  log.error("MLflow request failed", { request_id: requestId, err });
  return mlflowError("INTERNAL_ERROR", `Internal error (request ${requestId}).`, 500, requestId);
}
