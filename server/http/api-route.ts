// The one wrapper for REST route handlers: resolve the actor, parse input with zod, call a service,
// map errors, count the request in platform metrics.
import type { z } from "zod";
import type { Db } from "@/db/client";
import { decodeSegment } from "@/lib/path-segment";
import { getReadyDb } from "../bootstrap";
import type { Ctx, RequestInfo } from "../context";
import { newRequestId } from "../context";
import { clientIp, forwardedRequest } from "../auth/request-info";
import { resolveRequestActor } from "../auth/request-actor";
import { AppError } from "../errors";
import { observeRequest } from "../observability/metrics";
import { annotateActiveSpan, markError, requestParent, setTraceHeader, SpanKind, traceIdOf, withSpan } from "../observability/tracing";
import type { Span } from "../observability/tracing";
import { paceRefusal } from "../tracking/query-budget";
import { touchUser } from "../users/activity";
import { errorResponse, invalidInput } from "./errors";

type Params = Record<string, string | string[]>;
export type RouteContext = { params?: Promise<Params> };

/** A path parameter decoded once; malformed percent-encoding is the caller's mistake (400), never a 500. */
export function decodeParam(value: string | undefined, name: string): string {
  const decoded = decodeSegment(value ?? "");
  if (decoded === null) {
    throw new AppError("invalid_input", `The ${name} in the path is not valid percent-encoding (e.g. a stray "%"); encode it with encodeURIComponent.`);
  }
  return decoded;
}

/** What the request pipeline reads of a request: a Web Request, or the MLflow fast lane's node:http one. */
export type RequestLike = Pick<Request, "method" | "url" | "headers" | "text">;

export type HandlerArgs<B, Q> = { ctx: Ctx; req: Request; params: Record<string, string>; body: B; query: Q };

type Options<B, Q> = {
  /** The route pattern, used as the metrics label: "/api/v1/teams/[slug]". */
  endpoint: string;
  body?: z.ZodType<B>;
  query?: z.ZodType<Q>;
  /** Status for a successful JSON answer (default 200; undefined results answer 204). */
  status?: number;
};

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Cookie-authenticated writes must come from our own origin (no cross-site form posts). The host is the
 * Host header, or X-Forwarded-Host only from a trusted proxy (see server/auth/request-info.ts).
 */
function checkOrigin(req: Pick<Request, "headers">): void {
  const origin = req.headers.get("origin");
  const { host, proto } = forwardedRequest(req.headers);
  let originUrl: URL | undefined;
  try {
    originUrl = origin ? new URL(origin) : undefined;
  } catch {
    originUrl = undefined;
  }
  if (!originUrl || originUrl.host !== host || (proto && originUrl.protocol !== `${proto}:`)) {
    throw new AppError("forbidden", `Cross-site request refused: a signed-in write must come from this site (Origin ${origin ?? "missing"}, host ${host ?? "unknown"}). Scripts should use an API token.`);
  }
}

export function requestInfo(req: { headers: Headers }): RequestInfo {
  const supplied = req.headers.get("x-request-id");
  return {
    id: supplied && /^[\w.-]{8,100}$/.test(supplied) ? supplied : newRequestId(),
    ip: clientIp(req.headers),
    userAgent: req.headers.get("user-agent")?.slice(0, 500) ?? undefined,
  };
}

/** Half of a UTF-16 surrogate pair with no other half: not text (PostgreSQL and UTF-8 cannot hold it). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** What in `value` the database cannot store as given: a NUL character, or a lone UTF-16 surrogate ("\ud800"). */
function unstorable(value: unknown): "nul" | "surrogate" | null {
  if (typeof value === "string") return value.includes("\u0000") ? "nul" : LONE_SURROGATE.test(value) ? "surrogate" : null;
  if (Array.isArray(value)) {
    for (const x of value) {
      const found = unstorable(x);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === "object") {
    for (const [k, x] of Object.entries(value)) {
      const found = unstorable(k) ?? unstorable(x);
      if (found) return found;
    }
  }
  return null;
}

/**
 * PostgreSQL's text cannot hold a NUL character, and a lone surrogate is not text at all (the driver would
 * store U+FFFD instead, so what was hashed — an audit row — would no longer match what was stored): input
 * carrying either is refused here with where it was, instead of failing in the database (a 500).
 */
export function hasNul(value: unknown): boolean {
  return unstorable(value) !== null;
}

export function refuseNul(value: unknown, where: string): void {
  const found = unstorable(value);
  if (found === "nul") throw new AppError("invalid_input", `The ${where} contains a NUL character (\\u0000 or %00), which Cairn cannot store; remove it.`);
  if (found === "surrogate") throw new AppError("invalid_input", `The ${where} contains half of a UTF-16 surrogate pair (such as \\ud800 alone), which is not text; send well-formed Unicode.`);
}

async function parseBody<B>(req: Request, schema: z.ZodType<B>): Promise<B> {
  const text = await req.text();
  let raw: unknown = {};
  if (text.trim() !== "") {
    try {
      raw = JSON.parse(text);
    } catch {
      throw new AppError("invalid_input", "The request body is not valid JSON.");
    }
  }
  refuseNul(raw, "request body");
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidInput(parsed.error, "body");
  return parsed.data;
}

function parseQuery<Q>(req: Request, schema: z.ZodType<Q>): Q {
  const url = new URL(req.url);
  const raw = Object.fromEntries(url.searchParams);
  refuseNul(raw, "query string");
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw invalidInput(parsed.error, "query");
  return parsed.data;
}

/**
 * A route's way to answer without resolving the actor first, for a request whose credentials it checks
 * in the same statement that does the work. Null: take the general path (nothing was done).
 */
export type Shortcut = (db: Db) => Promise<Response | null>;

/**
 * The shared request pipeline: request id, actor (401 without valid credentials), Origin check for
 * cookie-authenticated writes, activity, metrics; errors rendered by `onError`.
 */
export async function handleAuthenticated(
  req: RequestLike,
  endpoint: string,
  onError: (err: unknown, requestId: string) => Response,
  run: (ctx: Ctx) => Promise<Response>,
  shortcut?: Shortcut,
): Promise<Response> {
  const started = performance.now();
  const request = requestInfo(req);
  return withSpan(`${req.method} ${endpoint}`, requestSpanOptions(req, endpoint, request), async (span) => {
    let response: Response;
    let caller: string | null = null;
    try {
      const db = await getReadyDb();
      const quick = shortcut && (await shortcut(db));
      if (quick) {
        quick.headers.set("x-request-id", request.id);
        return answered(span, quick, endpoint, req.method, started);
      }
      const resolved = await resolveRequestActor(db, req);
      if (!resolved) throw new AppError("unauthenticated", "Sign in, or send an API token as `Authorization: Bearer <token>`.");
      caller = resolved.actor.userId;
      if (resolved.via === "session" && !SAFE_METHODS.has(req.method)) checkOrigin(req);
      if (resolved.actor.userId) await touchUser(db, resolved.actor.userId);
      response = await run({ actor: resolved.actor, db, request });
      response.headers.set("x-request-id", request.id);
    } catch (err) {
      response = onError(err, request.id);
    }
    // A caller's refusals, thrown or returned, are paced while teams read (query-budget.ts paceRefusal): firing
    // refused requests back to back must not take the event loop from everyone else. 401 has no caller; 429 has
    // waited already.
    if (caller && response.status >= 400 && response.status < 500 && response.status !== 429) await paceRefusal(caller);
    return answered(span, response, endpoint, req.method, started);
  });
}

/** A request's server span: named by the route template (never a raw id), with the request id to match logs. */
function requestSpanOptions(req: Pick<Request, "method" | "headers">, endpoint: string, request: RequestInfo) {
  return {
    kind: SpanKind.SERVER,
    parent: requestParent(req.headers),
    attributes: { "http.request.method": req.method, "http.route": endpoint, "cairn.request_id": request.id },
  };
}

/** Counts the answer in metrics and, when traced, records its status on the span and names the trace in a header. */
function answered(span: Span, response: Response, endpoint: string, method: string, started: number): Response {
  observeRequest(endpoint, method, response.status, (performance.now() - started) / 1000);
  span.setAttribute("http.response.status_code", response.status);
  if (response.status >= 500) markError(span, `answered ${response.status}`);
  setTraceHeader(response, traceIdOf(span));
  return response;
}

/** Wraps an authenticated route handler (401 without valid credentials). */
export function apiRoute<B = undefined, Q = undefined>(
  opts: Options<B, Q>,
  handler: (args: HandlerArgs<B, Q>) => Promise<unknown>,
) {
  return (req: Request, context: RouteContext): Promise<Response> =>
    handleAuthenticated(req, opts.endpoint, errorResponse, async (ctx) => {
      const rawParams: Params = (await context?.params) ?? {};
      const params = Object.fromEntries(Object.entries(rawParams).map(([k, v]) => [k, Array.isArray(v) ? v.join("/") : v]));
      refuseNul(params, "path");
      // The team a route names is a useful (bounded) trace attribute; other path values (ids) stay out.
      if (params.slug) annotateActiveSpan({ "cairn.team": params.slug });
      const body = opts.body ? await parseBody(req, opts.body) : (undefined as B);
      const query = opts.query ? parseQuery(req, opts.query) : (undefined as Q);
      const result = await handler({ ctx, req, params, body, query });
      if (result instanceof Response) return result;
      if (result === undefined) return new Response(null, { status: 204 });
      return Response.json(result, { status: opts.status ?? 200 });
    });
}

/** Wraps a public route (no actor): still counted and error-mapped. */
export function publicRoute(endpoint: string, handler: (req: Request, request: RequestInfo) => Promise<Response>) {
  return async (req: Request): Promise<Response> => {
    const started = performance.now();
    const request = requestInfo(req);
    return withSpan(`${req.method} ${endpoint}`, requestSpanOptions(req, endpoint, request), async (span) => {
      let response: Response;
      try {
        response = await handler(req, request);
      } catch (err) {
        response = errorResponse(err, request.id);
      }
      return answered(span, response, endpoint, req.method, started);
    });
  };
}
