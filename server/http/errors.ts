// One error shape for the REST API: {"error": {code, message, fields?, request_id}}.
import { ZodError } from "zod";
import { AppError } from "../errors";
import type { FieldErrors } from "../errors";

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
  if (!appError) {
    console.error(`[cairn] request ${requestId} failed`, err);
    return Response.json(
      { error: { code: "internal", message: `Something went wrong on our side. Quote request id ${requestId} when reporting it.`, request_id: requestId } },
      { status: 500, headers: { "x-request-id": requestId } },
    );
  }
  const headers: Record<string, string> = { "x-request-id": requestId };
  if (appError.retryAfterSeconds !== undefined) headers["retry-after"] = String(appError.retryAfterSeconds);
  return Response.json(
    { error: { code: appError.code, message: appError.message, ...(appError.fields ? { fields: appError.fields } : {}), request_id: requestId } },
    { status: appError.status, headers },
  );
}
