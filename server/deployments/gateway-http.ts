// The gateway's fast lane: in a running server, requests to /serve/… are answered by the gateway straight from
// Node's HTTP server, before Next's request handling (routing, Web Request/Response and stream copies), which
// costs more than the gateway's own work. Same port, same addresses, same answers: the lane calls the very
// serveInference the /serve route handler calls, and anything it does not take — another method, a path that is
// not /serve/<team>/<deployment>/<path…> in plain segments — goes on to Next as before (where the route handler
// answers it). Only the server Next listens on (PORT) gets the lane; Cairn's other listeners never do.
//
// Installed from instrumentation.ts: Node publishes `http.server.request.start` (with the server) before it emits
// the request, so the lane wraps a server's request listeners the first time it sees that server, and the request
// that revealed it already takes the lane.
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeSegment } from "@/lib/path-segment";
import { getReadyDb } from "../bootstrap";
import { env } from "../env";
import { log } from "../observability/log";
import type { Answer, GatewayRequest } from "./gateway";
import { serveInference } from "./gateway";

/** A node:http request as the gateway reads it. */
export function fromIncoming(req: IncomingMessage): GatewayRequest {
  const header = (name: string): string | null => {
    const v = req.headers[name];
    return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
  };
  return {
    method: req.method ?? "GET",
    target: req.url ?? "/",
    header,
    headers: () => {
      const h = new Headers();
      for (const [name, v] of Object.entries(req.headers)) {
        if (v === undefined) continue;
        for (const value of Array.isArray(v) ? v : [v]) h.append(name, value);
      }
      return h;
    },
    readBody: (limit) => new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      const onData = (c: Buffer) => {
        if (over) return;
        size += c.byteLength;
        if (size > limit) {
          over = true;
          chunks.length = 0;
          // Nothing more is kept; the rest is read and dropped so the answer can still be sent.
          resolve(null);
          return;
        }
        chunks.push(c);
      };
      req.on("data", onData);
      req.once("end", () => { if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)); });
      req.once("error", reject);
      req.once("aborted", () => reject(new Error("the client closed the request")));
    }),
  };
}

/** The gateway address parts of a request path, or null when it is not one the lane takes (Next answers it). */
export function gatewayParams(target: string): { team: string; deployment: string; path: string[] } | null {
  const q = target.indexOf("?");
  const pathname = q === -1 ? target : target.slice(0, q);
  if (!pathname.startsWith("/serve/")) return null;
  const segments = pathname.slice("/serve/".length).split("/");
  // The route's shape exactly: team, deployment, at least one more; no empty or dot segment (Next normalises those).
  if (segments.length < 3 || segments.some((s) => s === "" || s === "." || s === ".." || s.includes("#"))) return null;
  const [team, deployment, ...path] = segments as [string, string, ...string[]];
  return { team, deployment, path };
}

function send(res: ServerResponse, answer: Answer): void {
  res.writeHead(answer.status, { ...answer.headers, "content-length": String(answer.body.byteLength) });
  res.end(answer.body);
}

const fail = (status: number, error: string): Answer => ({ status, headers: { "content-type": "application/json" }, body: Buffer.from(JSON.stringify({ error })) });

/**
 * Answers a request the lane takes; returns false (having done nothing) for one it does not, which goes on to Next.
 * Never throws: a failure is logged and answered 500 in the gateway's error shape.
 */
export function handleGatewayHttp(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== "GET" && req.method !== "POST") return false;
  const params = gatewayParams(req.url ?? "");
  if (!params) return false;
  const deployment = decodeSegment(params.deployment);
  const path = params.path.map(decodeSegment);
  if (deployment === null || path.some((s) => s === null)) {
    send(res, fail(400, "The path is not valid percent-encoding; encode the model name with encodeURIComponent."));
    return true;
  }
  void (async () => {
    const db = await getReadyDb();
    send(res, await serveInference(db, fromIncoming(req), { team: params.team, deployment, path: path as string[] }));
  })().catch((err: unknown) => {
    log.error("the gateway's fast lane failed to answer", { err });
    if (!res.headersSent) send(res, fail(500, "The gateway failed to answer; the error was logged."));
    else res.destroy();
  });
  return true;
}

const INSTALLED = Symbol.for("cairn.gateway.fastLane");
const WRAPPED = Symbol.for("cairn.gateway.fastLaneServers");
type Globals = Record<symbol, unknown>;

/** Puts the lane in front of Next on the server that listens on PORT. Idempotent. */
export function installGatewayFastLane(): void {
  const g = globalThis as unknown as Globals;
  if (g[INSTALLED]) return;
  g[INSTALLED] = true;
  const wrapped = (g[WRAPPED] ??= new WeakSet<Server>()) as WeakSet<Server>;
  const port = env().httpPort;
  subscribe("http.server.request.start", (message) => {
    const { server } = message as { server?: Server };
    if (!server || wrapped.has(server)) return;
    wrapped.add(server);
    const address = server.address() as AddressInfo | string | null;
    if (!address || typeof address === "string" || address.port !== port) return;
    putLaneInFront(server);
    log.info(`gateway: /serve/… is answered ahead of Next's routing on port ${port}`);
  });
}

/** Makes `server` offer each request to the lane first; what the lane does not take reaches its listeners as before. */
export function putLaneInFront(server: Server): void {
  const listeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (handleGatewayHttp(req, res)) return;
    for (const listener of listeners) listener.call(server, req, res);
  });
}
