// The gateway's fast lane: in a running server, requests to /serve/… are answered by the gateway straight from
// Node's HTTP server, before Next's request handling (routing, Web Request/Response and stream copies), which
// costs more than the gateway's own work. Same port, same addresses, same answers: the lane calls the very
// serveInference the /serve route handler calls, and anything it does not take — another method, a path that is
// not /serve/<team>/<deployment>/<path…> in plain segments — goes on to Next as before (where the route handler
// answers it). The front door (server/http/front-door.ts) puts the lane ahead of Next on the server Next listens on.
import type { IncomingMessage, ServerResponse } from "node:http";
import { decodeSegment } from "@/lib/path-segment";
import { pathOf } from "../http/request-target";
import { getReadyDb } from "../bootstrap";
import { log } from "../observability/log";
import type { Answer, GatewayRequest } from "./gateway";
import { ClientGone, fail, serveInference } from "./gateway";

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
      // A client that went away before the body was read: nothing more will come (no end, error or aborted event).
      if (req.destroyed && !req.readableEnded) return reject(new ClientGone());
      const chunks: Buffer[] = [];
      let size = 0;
      let over = false;
      let ended = false;
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
      req.once("end", () => {
        ended = true;
        if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
      });
      req.once("error", () => reject(new ClientGone()));
      req.once("close", () => { if (!ended) reject(new ClientGone()); });
    }),
  };
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
  res.writeHead(answer.status, { ...answer.headers, "content-length": String(answer.body.byteLength) });
  res.end(answer.body);
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
  void (async () => {
    const db = await getReadyDb();
    send(res, await serveInference(db, fromIncoming(req), params));
  })().catch((err: unknown) => {
    log.error("the gateway's fast lane failed to answer", { err });
    if (!res.headersSent) send(res, fail(500, "The gateway failed to answer; the error was logged."));
    else res.destroy();
  });
  return true;
}
