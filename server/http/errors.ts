// One error shape for the REST API: {"error": {code, message, fields?, request_id, trace_id?}} — trace_id
// (and an `x-trace-id` header) when tracing is on, so a report finds its trace; request_id always.
import { ZodError } from "zod";
import { AppError } from "../errors";
import type { FieldErrors } from "../errors";
import { log } from "../observability/log";
import { currentTraceIds } from "../observability/tracing";

export function zodFieldErrors(err: ZodError): FieldErrors {
  const fields: FieldErrors = {};
  for (const issue of err.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        const path = [...issue.path, key].join(".");
        (fields[path] ??= []).push(`Unknown field "${key}"; remove it`);
      }
      continue;
    }
    const path = issue.path.join(".") || "_";
    (fields[path] ??= []).push(issue.message);
  }
  return fields;
}

export function invalidInput(err: ZodError, where: "body" | "query"): AppError {
  const fields = zodFieldErrors(err);
  const summary = Object.entries(fields).map(([k, v]) => `${k}: ${v.join(", ")}`).join("; ");
  return new AppError("invalid_input", `The request ${where} is not valid — ${summary}`, { fields });
}

export function errorResponse(err: unknown, requestId: string): Response {
  const appError = err instanceof AppError ? err
    : err instanceof ZodError ? invalidInput(err, "body")
    // decodeURIComponent on a caller's malformed escape ("%FF") is their mistake, not ours.
    : err instanceof URIError ? new AppError("invalid_input", "The request holds malformed percent-encoding (e.g. a stray \"%\"); encode values with encodeURIComponent.")
    : undefined;
  const traceId = currentTraceIds()?.traceId;
  const ids = { request_id: requestId, ...(traceId ? { trace_id: traceId } : {}) };
  const headers: Record<string, string> = { "x-request-id": requestId, ...(traceId ? { "x-trace-id": traceId } : {}) };
  if (!appError) {
    log.error("request failed", { request_id: requestId, err });
    return Response.json(
      { error: { code: "internal", message: `Something went wrong on our side. Quote request id ${requestId} when reporting it.`, ...ids } },
      { status: 500, headers },
    );
  }
  if (appError.retryAfterSeconds !== undefined) headers["retry-after"] = String(appError.retryAfterSeconds);
  return Response.json(
    { error: { code: appError.code, message: appError.message, ...(appError.fields ? { fields: appError.fields } : {}), ...ids } },
    { status: appError.status, headers },
  );
}
