// The gateway's fast lane: in a running server, requests to /serve/… are answered by the gateway straight from
// Node's HTTP server, before Next's request handling (routing, Web Request/Response and stream copies), which
// costs more than the gateway's own work. Same port, same addresses, same answers: the lane calls the very
// serveInference the /serve route handler calls, and anything it does not take — another method, a path that is
// not /serve/<team>/<deployment>/<path…> in plain segments — goes on to Next as before (where the route handler
// answers it). The front door (server/http/front-door.ts) puts the lane ahead of Next on the server Next listens on.
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeSegment } from "@/lib/path-segment";
import { readNodeBody, webHeaders } from "../http/node-request";
import { pathOf } from "../http/request-target";
import { getReadyDb, readyDbNow } from "../bootstrap";
import { log } from "../observability/log";
import type { Answer, GatewayRequest } from "./gateway";
import { ClientGone, fail, serveInference } from "./gateway";

/**
 * A node:http request as the gateway reads it. Its methods live on the class (no closures made per request), and a
 * body that has arrived whole with the request — a small one comes in the same packets as the head, so by the time
 * the gateway asks, Node has parsed the whole message — is taken from the stream's buffer at once.
 */
class IncomingGatewayRequest implements GatewayRequest {
  readonly method: string;
  readonly target: string;

  constructor(private readonly req: IncomingMessage) {
    this.method = req.method ?? "GET";
    this.target = req.url ?? "/";
  }

  header(name: string): string | null {
    const v = this.req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
  }

  /** All headers (for an audit row or a trace); a value Web Headers refuse, which only a lenient parser lets in, is left out. */
  headers(): Headers {
    return webHeaders(this.req, { skipInvalid: true });
  }

  readBody(limit: number): Promise<Uint8Array | null> {
    return readNodeBody(this.req, limit, () => new ClientGone());
  }
}

/** A node:http request as the gateway reads it. */
export function fromIncoming(req: IncomingMessage): GatewayRequest {
  return new IncomingGatewayRequest(req);
}

/**
 * The gateway address of a request path, each segment percent-decoded once (as Next decodes a route's params):
 * null when the path is not one the lane takes (Next answers it), "malformed" when a segment's percent-encoding is.
 */
export function gatewayParams(target: string): { team: string; deployment: string; path: string[] } | "malformed" | null {
  const pathname = pathOf(target);
  if (!pathname.startsWith("/serve/")) return null;
  const raw = pathname.slice("/serve/".length).split("/");
  // The route's shape exactly: team, deployment, at least one more; no empty or dot segment, no backslash (Next
  // normalises those, and they must never reach a URL built from the segments).
  if (raw.length < 3 || raw.some((s) => s === "" || s.includes("\\"))) return null;
  const decoded = raw.map(decodeSegment);
  if (decoded.some((s) => s === null)) return "malformed";
  if (decoded.some((s) => s === "." || s === ".." || s!.includes("/") || s!.includes("\\"))) return null;
  const [team, deployment, ...path] = decoded as [string, string, ...string[]];
  return { team, deployment, path };
}

function send(res: ServerResponse, answer: Answer): void {
  // The answer is this request's own (serveInference builds it per request): its headers take the length.
  answer.headers["content-length"] = String(answer.body.byteLength);
  res.writeHead(answer.status, answer.headers);
  res.end(answer.body);
}

function failed(res: ServerResponse, err: unknown): void {
  log.error("the gateway's fast lane failed to answer", { err });
  if (!res.headersSent) send(res, fail(500, "The gateway failed to answer; the error was logged."));
  else res.destroy();
}

/**
 * Answers a request the lane takes; returns false (having done nothing) for one it does not, which goes on to Next.
 * Never throws: a failure is logged and answered 500 in the gateway's error shape.
 */
export function handleGatewayHttp(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" && req.method !== "POST") return false;
  const params = gatewayParams(req.url ?? "");
  if (params === null) return false;
  if (params === "malformed") {
    send(res, fail(400, "The path is not valid percent-encoding; encode the model name with encodeURIComponent."));
    return true;
  }
  const db = readyDbNow();
  let answered: Promise<Answer>;
  try {
    answered = db ? serveInference(db, fromIncoming(req), params) : getReadyDb().then((ready) => serveInference(ready, fromIncoming(req), params));
  } catch (err) {
    failed(res, err);
    return true;
  }
  answered.then((answer) => send(res, answer)).catch((err: unknown) => failed(res, err));
  return true;
}
