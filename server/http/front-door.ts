// What stands in front of Next on the server it listens on (PORT), for every request, before Next's routing:
//   1. a path whose percent-encoding is malformed ("%FF", "%E0%A4") is answered 400, in the shape of the API it
//      names — Next would throw decoding a dynamic segment of it and answer 500;
//   2. the inference gateway's fast lane takes GET/POST /serve/<team>/<deployment>/<path…>
//      (server/deployments/gateway-http.ts);
//   3. everything else reaches Next unchanged.
// Installed from instrumentation.ts: Node publishes `http.server.request.start` (with its server) before it emits
// the request, so the door wraps a server's request listeners the first time it sees that server — only the one on
// PORT; Cairn's other listeners never get it — and the request that revealed the server already goes through it.
import { subscribe } from "node:diagnostics_channel";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleGatewayHttp } from "../deployments/gateway-http";
import { env } from "../env";
import { log } from "../observability/log";

/** Whether every segment of the path (the part before `?`) decodes as UTF-8 percent-encoding. */
export function wellEncodedPath(target: string): boolean {
  const q = target.indexOf("?");
  const pathname = q === -1 ? target : target.slice(0, q);
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

/** Answers a request the door refuses or the gateway takes; false sends it on to Next. */
export function frontDoor(req: IncomingMessage, res: ServerResponse): boolean {
  const target = req.url ?? "/";
  if (!wellEncodedPath(target)) {
    const q = target.indexOf("?");
    const answer = malformedAnswer(q === -1 ? target : target.slice(0, q));
    res.writeHead(400, { "content-type": answer.type, "content-length": String(Buffer.byteLength(answer.body)), "x-content-type-options": "nosniff" });
    res.end(req.method === "HEAD" ? undefined : answer.body);
    return true;
  }
  return handleGatewayHttp(req, res);
}

/** Makes `server` offer each request to the front door first; what it does not take reaches its listeners as before. */
export function putFrontDoor(server: Server): void {
  const listeners = server.listeners("request") as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners("request");
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (frontDoor(req, res)) return;
    for (const listener of listeners) listener.call(server, req, res);
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
    log.info(`front door on port ${port}: malformed paths refused, /serve/… answered ahead of Next's routing`);
  });
}
