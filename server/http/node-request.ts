// A node:http request as the fast lanes (the gateway's, the MLflow API's) read it instead of a Web Request: its
// headers, and its body read with a byte limit.
import type { IncomingMessage } from "node:http";

/** A header value Web Headers refuse (only a lenient HTTP parser lets one through): the lanes answer it 400. */
export class BadHeaderValue extends Error {
  constructor(cause: TypeError) {
    super(`A request header is not valid (${cause.message.replace(/\.$/, "")}): header values may not hold NUL, CR or LF`, { cause });
    this.name = "BadHeaderValue";
  }
}

/**
 * The request's headers as Web Headers, from Node's parsed ones, as Next builds a route's Request: duplicates folded
 * by Node's rules (the first Authorization wins), the peer-address stamp (server/auth/request-info.ts) included, and
 * the X-Forwarded-* headers a client did not send filled in as Next fills them (host from Host, proto from the
 * socket, for from the peer), so a proxy that leaves one out is read the same way on both paths.
 * A value Web Headers refuse throws BadHeaderValue, or with `skipInvalid` is left out (the gateway reads a request's
 * headers one by one and needs all of them only for an audit row or a trace, after it has answered).
 */
export function webHeaders(req: IncomingMessage, { skipInvalid = false } = {}): Headers {
  const h = new Headers();
  for (const [name, v] of Object.entries(req.headers)) {
    if (v === undefined) continue;
    for (const value of Array.isArray(v) ? v : [v]) {
      try {
        h.append(name, value);
      } catch (err) {
        if (!(err instanceof TypeError)) throw err;
        if (!skipInvalid) throw new BadHeaderValue(err);
      }
    }
  }
  const encrypted = "encrypted" in req.socket && req.socket.encrypted === true;
  const host = h.get("host");
  if (!h.has("x-forwarded-host") && host !== null) h.set("x-forwarded-host", host);
  if (!h.has("x-forwarded-port")) h.set("x-forwarded-port", String(req.socket.localPort ?? (encrypted ? 443 : 80)));
  if (!h.has("x-forwarded-proto")) h.set("x-forwarded-proto", encrypted ? "https" : "http");
  if (!h.has("x-forwarded-for") && req.socket.remoteAddress !== undefined) h.set("x-forwarded-for", req.socket.remoteAddress);
  return h;
}

const EMPTY = Buffer.alloc(0);

/**
 * The whole body, or null once it passes `limit` bytes (the rest is read and dropped, so an answer can still be
 * sent on the connection). A body that has arrived whole with the request — a small one comes in the packets of the
 * head, so Node has parsed the whole message by the time it is asked for — is taken from the stream's buffer at
 * once. Rejects with `gone()` when the client goes away before the body ends.
 */
export function readNodeBody(req: IncomingMessage, limit: number, gone: () => Error): Promise<Buffer | null> {
  // A client that went away before the body was read: nothing more will come (no end, error or aborted event).
  if (req.destroyed && !req.readableEnded) return Promise.reject(gone());
  // Read before (the stream has ended): a second read would wait for an end that has come and gone.
  if (req.readableEnded) return Promise.reject(new Error("The request body was already read."));
  // The whole message is parsed and nothing has read the body: it is all in the stream's buffer.
  if (req.complete && !req.readableDidRead && req.readableFlowing === null) {
    const data = req.read() as Buffer | null;
    if (data === null) return Promise.resolve(EMPTY);
    return Promise.resolve(data.byteLength > limit ? null : data);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    let ended = false;
    req.on("data", (c: Buffer) => {
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
    });
    req.once("end", () => {
      ended = true;
      if (!over) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.once("error", () => reject(gone()));
    req.once("close", () => { if (!ended) reject(gone()); });
  });
}
