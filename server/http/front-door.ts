// What stands in front of Next on the server it listens on (PORT), for every request, before Next's routing:
//   1. a request target that is not a path (absolute-form `http://…`, `*`) is answered 400 and TRACE 405 — Next
//      would redirect the first off-site or answer 500;
//   2. a path whose percent-encoding is malformed ("%FF", "%E0%A4") is answered 400, in the shape of the API it
//      names — Next would throw decoding a dynamic segment of it and answer 500;
//   3. the inference gateway's fast lane takes GET/POST /serve/<team>/<deployment>/<path…>
//      (server/deployments/gateway-http.ts);
//   4. the MLflow tracking API's fast lane takes GET/POST/PATCH/DELETE /api/2.0/mlflow/<path…> and
//      /ajax-api/2.0/mlflow/<path…> (server/mlflow/http-lane.ts);
//   5. everything else reaches Next unchanged.
// Upgrade requests (WebSocket, h2c) are refused 400 except Next's own under /_next/ (the dev server's reload
// socket): Cairn serves no WebSocket, and Next would hold such a connection open without an answer.
// Installed from instrumentation.ts: Node publishes `http.server.request.start` (with its server) before it emits
// the request, so the door wraps a server's request listeners the first time it sees that server — only the one on
// PORT; Cairn's other listeners never get it — and the request that revealed the server already goes through it.
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { handleGatewayHttp } from "../deployments/gateway-http";
import { handleMlflowHttp } from "../mlflow/http-lane";
import { env } from "../env";
import { log } from "../observability/log";
import { pathOf } from "./request-target";

/** Whether every segment of the path (the part before `?`) decodes as UTF-8 percent-encoding. */
export function wellEncodedPath(target: string): boolean {
  const pathname = pathOf(target);
  if (!pathname.includes("%")) return true;
  try {
    for (const segment of pathname.split("/")) decodeURIComponent(segment);
    return true;
  } catch {
    return false;
  }
}

const MESSAGE = "The URL path is not valid percent-encoding (a % must start a UTF-8 byte sequence such as %C3%A9); encode each path segment with encodeURIComponent.";

/** The 400 for a malformed path, in the error shape of the API it names. */
function malformedAnswer(pathname: string): { type: string; body: string } {
  if (pathname.startsWith("/api/2.0/") || pathname.startsWith("/ajax-api/")) return { type: "application/json", body: JSON.stringify({ error_code: "INVALID_PARAMETER_VALUE", message: MESSAGE }) };
  if (pathname.startsWith("/api/")) return { type: "application/json", body: JSON.stringify({ error: { code: "invalid_input", message: MESSAGE } }) };
  if (pathname.startsWith("/serve/")) return { type: "application/json", body: JSON.stringify({ error: MESSAGE }) };
  return { type: "text/plain; charset=utf-8", body: `400 Bad Request: ${MESSAGE}\n` };
}

/** Answers a request the door refuses or a fast lane takes; false sends it on to Next. */
export function frontDoor(req: IncomingMessage, res: ServerResponse): boolean {
  const target = req.url ?? "/";
  const plain = (status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": String(Buffer.byteLength(body)), "x-content-type-options": "nosniff", ...headers });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  };
  if (!target.startsWith("/")) return plain(400, "400 Bad Request: the request target must be a path starting with /.\n");
  if (req.method === "TRACE" || req.method === "TRACK") return plain(405, "405 Method Not Allowed\n", { allow: "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS" });
  if (!wellEncodedPath(target)) {
    const answer = malformedAnswer(pathOf(target));
    res.writeHead(400, { "content-type": answer.type, "content-length": String(Buffer.byteLength(answer.body)), "x-content-type-options": "nosniff" });
    res.end(req.method === "HEAD" ? undefined : answer.body);
    return true;
  }
  return handleGatewayHttp(req, res) || handleMlflowHttp(req, res);
}

/** Refuses an upgrade request (answers true) unless it is Next's own under /_next/. */
export function refuseUpgrade(req: IncomingMessage, socket: Duplex): boolean {
  if ((req.url ?? "").startsWith("/_next/")) return false;
  socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 40\r\n\r\nThis server does not upgrade connections");
  return true;
}

/** Makes `server` offer each request to the front door first; what it does not take reaches its listeners as before. */
export function putFrontDoor(server: Server): void {
  const listeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (frontDoor(req, res)) return;
    for (const listener of listeners) listener.call(server, req, res);
  });
  const upgrades = server.listeners("upgrade") as ((req: IncomingMessage, socket: Duplex, head: Buffer) => void)[];
  server.removeAllListeners("upgrade");
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (refuseUpgrade(req, socket)) return;
    if (upgrades.length === 0) return void socket.destroy();
    for (const listener of upgrades) listener.call(server, req, socket, head);
  });
}

const INSTALLED = Symbol.for("cairn.frontDoor");
const WRAPPED = Symbol.for("cairn.frontDoorServers");
type Globals = Record<symbol, unknown>;

/** Puts the front door on the server that listens on PORT. Idempotent. */
export function installFrontDoor(): void {
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
    putFrontDoor(server);
    log.info(`front door on port ${port}: malformed paths refused, /serve/… and the MLflow API answered ahead of Next's routing`);
  });
}
