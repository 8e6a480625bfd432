// Spans for Cairn's own work (API requests, server actions, job dispatch, the gateway), on the OpenTelemetry
// API only: with no tracer provider registered (OTEL_EXPORTER_OTLP_ENDPOINT unset) every helper here is a
// plain call — no span objects, no context switches. The provider is set up in ./tracing-setup.ts.
import { context, INVALID_SPAN_CONTEXT, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import type { Attributes, Context, Link, Span } from "@opentelemetry/api";

export { SpanKind };
export type { Span };

// Shared by every bundle Next makes of this module (instrumentation, each route): one switch for the process.
const STATE = Symbol.for("cairn.tracing");
type TracingState = { on: boolean };
const globals = globalThis as unknown as Record<symbol, TracingState | undefined>;

/** Whether a tracer provider exports Cairn's spans (set by startTracing, cleared by its shutdown). */
export function tracingEnabled(): boolean {
  return globals[STATE]?.on === true;
}

export function setTracingEnabled(on: boolean): void {
  globals[STATE] = { on };
}

/** What a span-less caller is handed: accepts attributes and status, records nothing. */
const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export type SpanOptions = {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent (default: the active span); e.g. the context a job's stored traceparent names. */
  parent?: Context;
  links?: Link[];
};

/**
 * Runs `fn` inside a new active span named `name` (a low-cardinality name: a route template, never a raw id),
 * ending it when `fn` settles; a throw marks the span as an error. Tracing off: `fn(NOOP_SPAN)`, nothing else.
 */
export function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!tracingEnabled()) return fn(NOOP_SPAN);
  const tracer = trace.getTracer("cairn");
  return tracer.startActiveSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes, links: opts.links }, opts.parent ?? context.active(), async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      // Next's interrupts (notFound(), forbidden(), redirect()) are answers, not failures.
      const digest = (err as { digest?: unknown } | null)?.digest;
      if (typeof digest === "string" && digest.startsWith("NEXT_")) {
        const [kind, code] = digest.split(";");
        span.setAttribute("cairn.interrupt", kind === "NEXT_HTTP_ERROR_FALLBACK" ? `${kind};${code}` : kind!);
        throw err;
      }
      span.recordException(err instanceof Error ? err : String(err));
      span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Runs `fn` outside any trace: background work a request only nudges (a worker's pass) must not join the
 * request's trace, or every submit's trace would hold the whole scheduler pass.
 */
export function outsideTrace<T>(fn: () => T): T {
  return tracingEnabled() ? context.with(ROOT_CONTEXT, fn) : fn();
}

/** Marks a span as failed without an exception (a 5xx answer). */
export function markError(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** The active span's trace and span ids, or null (tracing off, or no span here). */
export function currentTraceIds(): { traceId: string; spanId: string } | null {
  if (!tracingEnabled()) return null;
  const span = trace.getSpan(context.active());
  const sc = span?.spanContext();
  return sc && trace.isSpanContextValid(sc) ? { traceId: sc.traceId, spanId: sc.spanId } : null;
}

/** The active span as a W3C `traceparent` value, to be stored with work a worker picks up later; null when off. */
export function currentTraceparent(): string | null {
  if (!currentTraceIds()) return null;
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent ?? null;
}

/** The context a stored or received `traceparent` names (the root context when absent or malformed). */
export function contextFromTraceparent(traceparent: string | null | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagation.extract(ROOT_CONTEXT, { traceparent });
}

/**
 * The parent for a request's span: the span already active (Next's own request span), else the caller's
 * `traceparent` header (a client or proxy that traces), else none.
 */
export function requestParent(headers: Headers): Context {
  const active = context.active();
  if (trace.getSpan(active)) return active;
  return contextFromTraceparent(headers.get("traceparent"));
}

/** A span's trace id, or undefined for the stand-in span tracing-off hands out. */
export function traceIdOf(span: Span): string | undefined {
  const sc = span.spanContext();
  return trace.isSpanContextValid(sc) ? sc.traceId : undefined;
}

/** Adds attributes to the active span (a request's team, once the handler knows it); nothing when off. */
export function annotateActiveSpan(attributes: Attributes): void {
  if (!tracingEnabled()) return;
  trace.getSpan(context.active())?.setAttributes(attributes);
}

/** The trace-id response header, set on every answer a traced request gives (`x-trace-id: <32 hex>`). */
export function setTraceHeader(response: Response, traceId: string | undefined): void {
  if (traceId) response.headers.set("x-trace-id", traceId);
}
