// A span per database statement, under whatever traced work issued it (an API request, a job dispatch):
// db.system, the statement's first 1,000 characters — never the parameter values. A statement with no
// recording span around it (tracing off, or a worker's idle polling) costs one context lookup, nothing more.
import { PGlite } from "@electric-sql/pglite";
import type { QueryOptions, Results, Transaction } from "@electric-sql/pglite";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Span } from "@opentelemetry/api";
import pg from "pg";

export const MAX_STATEMENT_CHARS = 1000;

// The switch server/observability/tracing.ts sets when a provider exports spans (db/ may not import server/):
// with tracing off a statement costs this one property read.
const TRACING = Symbol.for("cairn.tracing");

function recordingParent(): boolean {
  if ((globalThis as unknown as Record<symbol, { on?: boolean } | undefined>)[TRACING]?.on !== true) return false;
  return trace.getSpan(context.active())?.isRecording() === true;
}

function startQuerySpan(driver: "pg" | "pglite", text: string): Span {
  const op = /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? "QUERY";
  return trace.getTracer("cairn.db").startSpan(`db ${op}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      "db.system": "postgresql",
      "db.system.name": "postgresql",
      "db.operation.name": op,
      "db.statement": text.length > MAX_STATEMENT_CHARS ? `${text.slice(0, MAX_STATEMENT_CHARS)}…` : text,
      "cairn.db.driver": driver,
    },
  });
}

function endQuerySpan(span: Span, err: unknown): void {
  if (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  }
  span.end();
}

async function traced<T>(driver: "pg" | "pglite", text: string, run: () => Promise<T>): Promise<T> {
  if (!recordingParent()) return run();
  const span = startQuerySpan(driver, text);
  try {
    const result = await run();
    endQuerySpan(span, null);
    return result;
  } catch (err) {
    endQuerySpan(span, err);
    throw err;
  }
}

/** The statement text of a pg `query(...)` call's first argument (a string or a `{text}` config). */
function pgText(arg: unknown): string | null {
  if (typeof arg === "string") return arg;
  if (arg && typeof arg === "object" && "text" in arg && typeof arg.text === "string" && !("submit" in arg)) return arg.text;
  return null;
}

/**
 * pg's Client with a span per query. The pool calls `query(config, values, callback)`; a direct caller may use
 * the promise form: both end the span when the answer (or error) comes.
 */
export class TracedPgClient extends pg.Client {}
const pgQuery = pg.Client.prototype.query;
TracedPgClient.prototype.query = function tracedQuery(this: pg.Client, ...args: unknown[]): unknown {
  const text = recordingParent() ? pgText(args[0]) : null;
  if (text === null) return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
  const span = startQuerySpan("pg", text);
  const last = args.length - 1;
  const callback = args[last];
  if (typeof callback === "function") {
    args[last] = (err: unknown, res: unknown) => {
      endQuerySpan(span, err);
      return (callback as (e: unknown, r: unknown) => unknown)(err, res);
    };
    return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
  }
  const result = (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
  if (result && typeof (result as Promise<unknown>).then === "function") {
    (result as Promise<unknown>).then(() => endQuerySpan(span, null), (err: unknown) => endQuerySpan(span, err));
  } else {
    span.end();
  }
  return result;
} as typeof pgQuery;

/** A transaction's handle whose queries are traced like the database's own. */
function tracedTransaction(tx: Transaction): Transaction {
  const wrapped = Object.create(tx) as Transaction;
  wrapped.query = <T>(query: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> => traced("pglite", query, () => tx.query<T>(query, params, options));
  return wrapped;
}

/** Embedded PGlite with a span per query, inside transactions too. */
export class TracedPGlite extends PGlite {
  override query<T>(query: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return traced("pglite", query, () => super.query<T>(query, params, options));
  }

  override transaction<T>(callback: (tx: Transaction) => Promise<T>): Promise<T> {
    return super.transaction((tx) => callback(tracedTransaction(tx)));
  }
}
