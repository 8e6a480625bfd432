// The server's log lines. CAIRN_LOG_FORMAT=json: one JSON object a line — time, level, msg, trace_id and
// span_id (when tracing), request_id (always, when the line belongs to a request), then the caller's fields
// and the error. "text" (default): `[cairn] msg (request …, trace …)` for a terminal.
import { env } from "../env";
import { currentTraceIds } from "./tracing";

export type LogLevel = "info" | "warn" | "error";
export type LogFields = { request_id?: string; err?: unknown } & Record<string, unknown>;

function format(): "text" | "json" {
  try {
    return env().logFormat;
  } catch {
    // An invalid configuration is itself being reported: say it in the default format.
    return "text";
  }
}

function errorFields(err: unknown): Record<string, unknown> {
  if (err instanceof Error) return { name: err.name, message: err.message, ...(err.stack ? { stack: err.stack } : {}), ...("code" in err && typeof err.code === "string" ? { code: err.code } : {}) };
  return { message: String(err) };
}

/** One log line as its JSON object (exported for tests). */
export function logRecord(level: LogLevel, msg: string, fields: LogFields = {}, now = new Date()): Record<string, unknown> {
  const { err, request_id: requestId, ...rest } = fields;
  const ids = currentTraceIds();
  return {
    time: now.toISOString(),
    level,
    msg,
    ...(ids ? { trace_id: ids.traceId, span_id: ids.spanId } : {}),
    ...(requestId ? { request_id: requestId } : {}),
    ...rest,
    ...(err !== undefined ? { error: errorFields(err) } : {}),
  };
}

function write(level: LogLevel, msg: string, fields?: LogFields): void {
  const sink = level === "error" ? console.error : level === "warn" ? console.warn : console.log;
  if (format() === "json") {
    sink(JSON.stringify(logRecord(level, msg, fields)));
    return;
  }
  const ids = currentTraceIds();
  const refs = [fields?.request_id ? `request ${fields.request_id}` : null, ids ? `trace ${ids.traceId}` : null].filter(Boolean);
  const line = `[cairn] ${msg}${refs.length ? ` (${refs.join(", ")})` : ""}`;
  if (fields?.err !== undefined) sink(line, fields.err);
  else sink(line);
}

export const log = {
  info: (msg: string, fields?: LogFields) => write("info", msg, fields),
  warn: (msg: string, fields?: LogFields) => write("warn", msg, fields),
  error: (msg: string, fields?: LogFields) => write("error", msg, fields),
};
