// The gateway's calls to its replicas: keep-alive HTTP/1.1 over loopback, with only what a call to Cairn's own model
// server needs. node:http's client (ClientRequest, its agent, an IncomingMessage per answer) cost the gateway about
// as much CPU per request as everything else it does; here a request is one write of a prepared head and the body,
// and an answer is read from the socket's chunks by a small parser on the connection (no object per request beside
// the answer). The replicas are this process's own children (server/deployments/model-server.mjs), reached on
// 127.0.0.1 with the replicas' shared secret; they answer every request with a Content-Length.
//
// What it accepts of an answer: `HTTP/1.x <status>`, header lines up to MAX_HEAD_BYTES, a body framed by one
// Content-Length (or none for 204/304). Anything else — chunked encoding, no length, a second answer nobody asked
// for — fails the call and closes the connection (the gateway answers 503 after trying again once, as for a replica
// that does not answer). `Connection: close` is honoured. An idle connection is closed before the replica's own
// keep-alive timeout (Node's 5 s, announced as `Keep-Alive: timeout=5`) would close it under a request; one it closes anyway fails that request, which the
// gateway tries again once. A call with no byte of its answer for `timeoutMs` (30 s) fails and its connection is
// closed: one timer for every connection, not one per request.
import net from "node:net";

export type ReplicaAnswer = { status: number; contentType: string | undefined; body: Buffer };
export type ReplicaCall = { method: string; path: string; headers: Record<string, string>; body: Uint8Array | null; timeoutMs: number };

/** An answer's status line and headers at most. */
const MAX_HEAD_BYTES = 64 * 1024;
/** Connections kept per replica port at most: open at once, and idle. */
const MAX_SOCKETS = 1024;
const MAX_IDLE = 256;
/** An idle connection is closed after this long (the model server closes its own after 5 s). */
const IDLE_MS = 3_000;
const SWEEP_MS = 1_000;
/** Bodies up to this size go out in the same buffer as the head (one copy, one write); larger ones as a second chunk. */
const COPY_BODY_BYTES = 16 * 1024;

const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** An origin-form path: no space, control character or anything outside visible ASCII. */
const REQUEST_PATH = /^\/[\x21-\x7e]*$/;
const CRLFCRLF = Buffer.from("\r\n\r\n");

type Pending = { resolve: (a: ReplicaAnswer) => void; reject: (e: Error) => void; timeoutMs: number };

class Connection {
  readonly socket: net.Socket;
  pending: Pending | null = null;
  /** Last activity (a write, a chunk read, going idle), on performance.now()'s clock. */
  at = performance.now();
  private head: Buffer | null = null;
  private status = 0;
  private contentType: string | undefined = undefined;
  private keepAlive = true;
  /** How long this connection may stay idle (the replica's Keep-Alive timeout, less a second, caps IDLE_MS). */
  idleMs = IDLE_MS;
  /** Body bytes still expected (-1: the head is not read yet). */
  private remaining = -1;
  private chunks: Buffer[] = [];
  private closed = false;

  constructor(readonly pool: Pool) {
    this.socket = net.connect({ host: "127.0.0.1", port: pool.port, noDelay: true });
    this.socket.on("data", (chunk: Buffer) => this.onData(chunk));
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("socket hang up")));
  }

  send(call: ReplicaCall, pending: Pending): void {
    this.pending = pending;
    this.at = performance.now();
    this.head = null;
    this.remaining = -1;
    this.chunks = [];
    this.keepAlive = true;
    let head = `${call.method} ${call.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.pool.port}\r\nConnection: keep-alive\r\n`;
    for (const name in call.headers) head += `${name}: ${call.headers[name]}\r\n`;
    const body = call.body;
    if (body) head += `Content-Length: ${body.byteLength}\r\n\r\n`;
    else head += call.method === "GET" || call.method === "HEAD" ? "\r\n" : "Content-Length: 0\r\n\r\n";
    if (!body || body.byteLength === 0) this.socket.write(head, "latin1");
    else if (body.byteLength <= COPY_BODY_BYTES) {
      const out = Buffer.allocUnsafe(Buffer.byteLength(head, "latin1") + body.byteLength);
      const n = out.write(head, 0, "latin1");
      out.set(body, n);
      this.socket.write(out);
    } else {
      this.socket.cork();
      this.socket.write(head, "latin1");
      this.socket.write(body);
      this.socket.uncork();
    }
  }

  private onData(chunk: Buffer): void {
    this.at = performance.now();
    if (!this.pending) {
      // Bytes nobody asked for: the connection is not to be trusted with the next request.
      this.destroy(new Error("the replica sent bytes outside an answer"));
      return;
    }
    if (this.remaining < 0) {
      const buffered = this.head ? Buffer.concat([this.head, chunk]) : chunk;
      const end = buffered.indexOf(CRLFCRLF);
      if (end < 0) {
        if (buffered.byteLength > MAX_HEAD_BYTES) this.destroy(new Error("the replica's answer head is too large"));
        else this.head = buffered;
        return;
      }
      if (end > MAX_HEAD_BYTES) return this.destroy(new Error("the replica's answer head is too large"));
      const error = this.readHead(buffered.toString("latin1", 0, end));
      if (error) return this.destroy(new Error(error));
      this.head = null;
      chunk = buffered.subarray(end + 4);
    }
    if (chunk.byteLength > this.remaining) return this.destroy(new Error("the replica sent more than its Content-Length"));
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk);
      this.remaining -= chunk.byteLength;
    }
    if (this.remaining === 0) this.complete();
  }

  /** Reads the status line and headers; answers what is wrong with them, or null. */
  private readHead(text: string): string | null {
    const lines = text.split("\r\n");
    const statusLine = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(lines[0]!);
    if (!statusLine) return "the replica's answer has no HTTP/1.1 status line";
    this.status = Number(statusLine[1]);
    if (this.status < 200) return `the replica answered ${this.status}, which the gateway does not expect`;
    let length: number | null = null;
    this.contentType = undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(":");
      if (colon <= 0) return "the replica's answer has a malformed header line";
      const name = line.slice(0, colon).toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === "content-length") {
        if (!/^\d{1,15}$/.test(value) || (length !== null && length !== Number(value))) return "the replica's answer has an invalid Content-Length";
        length = Number(value);
      } else if (name === "content-type") this.contentType ??= value;
      else if (name === "transfer-encoding") return "the replica's answer uses Transfer-Encoding, which the gateway does not read";
      else if (name === "connection") this.keepAlive = !/(^|,)\s*close\s*(,|$)/i.test(value);
      else if (name === "keep-alive") {
        const timeout = /(?:^|,)\s*timeout=(\d+)/i.exec(value);
        if (timeout) this.idleMs = Math.min(IDLE_MS, Number(timeout[1]) * 1000 - 1000);
      }
    }
    if (this.status === 204 || this.status === 304) length = 0;
    if (length === null) return "the replica's answer has no Content-Length";
    this.remaining = length;
    return null;
  }

  private complete(): void {
    const pending = this.pending!;
    this.pending = null;
    const chunks = this.chunks;
    this.chunks = [];
    this.remaining = -1;
    // Read before the connection goes back to the pool (a waiting call may take it at once).
    const answer: ReplicaAnswer = { status: this.status, contentType: this.contentType, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) };
    if (this.keepAlive && this.idleMs > 0) this.pool.release(this);
    else this.destroy(null);
    pending.resolve(answer);
  }

  /** Closes the connection; a call on it fails with `err`. */
  destroy(err: Error | null): void {
    this.fail(err ?? new Error("socket hang up"));
    this.socket.destroy();
  }

  private fail(err: Error): void {
    if (!this.closed) {
      this.closed = true;
      this.pool.forget(this);
    }
    const pending = this.pending;
    if (!pending) return;
    this.pending = null;
    pending.reject(err);
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

type Waiting = { call: ReplicaCall; pending: Pending };

/** The connections to one replica port. */
class Pool {
  readonly idle: Connection[] = [];
  readonly busy = new Set<Connection>();
  readonly waiting: Waiting[] = [];

  constructor(readonly port: number) {}

  call(call: ReplicaCall, pending: Pending): void {
    let conn = this.idle.pop();
    if (!conn) {
      if (this.busy.size >= MAX_SOCKETS) {
        this.waiting.push({ call, pending });
        return;
      }
      conn = new Connection(this);
    }
    this.busy.add(conn);
    conn.send(call, pending);
  }

  release(conn: Connection): void {
    this.busy.delete(conn);
    const next = this.waiting.shift();
    if (next) {
      this.busy.add(conn);
      conn.send(next.call, next.pending);
      return;
    }
    if (this.idle.length >= MAX_IDLE) {
      conn.destroy(null);
      return;
    }
    conn.at = performance.now();
    this.idle.push(conn);
  }

  forget(conn: Connection): void {
    this.busy.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    // A call waiting for a connection gets the place this one left.
    const next = this.waiting.shift();
    if (next) this.call(next.call, next.pending);
    if (this.idle.length === 0 && this.busy.size === 0 && this.waiting.length === 0 && pools.get(this.port) === this) pools.delete(this.port);
  }

  /** Closes idle connections past IDLE_MS and fails calls with no byte of their answer for their timeout. */
  sweep(now: number): void {
    for (const conn of [...this.busy]) {
      if (conn.pending && now - conn.at > conn.pending.timeoutMs) conn.destroy(new Error(`no answer within ${conn.pending.timeoutMs / 1000} s`));
    }
    for (const conn of [...this.idle]) if (now - conn.at > conn.idleMs) conn.destroy(null);
  }
}

// One set of connections per process: Next bundles this module once per route (the /serve handler) beside the
// fast lane's copy, and both should reuse the same kept-alive connections.
const REGISTRY = Symbol.for("cairn.replicaClient.pools");
type Shared = { pools: Map<number, Pool>; sweeper: NodeJS.Timeout | null };
const shared: Shared = ((globalThis as unknown as Record<symbol, Shared | undefined>)[REGISTRY] ??= { pools: new Map(), sweeper: null });
const pools = shared.pools;

function sweepAll(): void {
  const now = performance.now();
  for (const pool of [...pools.values()]) pool.sweep(now);
  if (pools.size === 0 && shared.sweeper) {
    clearInterval(shared.sweeper);
    shared.sweeper = null;
  }
}

/**
 * One request to the replica on 127.0.0.1:`port` over a kept-alive connection: its status, content type and
 * body. Rejects when the replica cannot be reached, closes the connection first, answers what is not plain
 * HTTP/1.1 with a Content-Length, or sends nothing for `timeoutMs`; and, before sending anything, for a header
 * whose name or value HTTP does not allow.
 */
export function callReplica(port: number, call: ReplicaCall): Promise<ReplicaAnswer> {
  if (!REQUEST_PATH.test(call.path)) return Promise.reject(new Error("Request path contains unescaped characters"));
  if (!HEADER_NAME.test(call.method)) return Promise.reject(new Error(`Method must be a valid HTTP token ["${call.method}"]`));
  for (const name in call.headers) {
    if (!HEADER_NAME.test(name)) return Promise.reject(new Error(`Header name must be a valid HTTP token ["${name}"]`));
    if (!HEADER_VALUE.test(call.headers[name]!)) return Promise.reject(new Error(`Invalid character in header content ["${name}"]`));
  }
  return new Promise((resolve, reject) => {
    let pool = pools.get(port);
    if (!pool) {
      pool = new Pool(port);
      pools.set(port, pool);
    }
    shared.sweeper ??= setInterval(sweepAll, SWEEP_MS).unref();
    pool.call(call, { resolve, reject, timeoutMs: call.timeoutMs });
  });
}

/** Open connections per port (tests). */
export function replicaConnections(port: number): { idle: number; busy: number } {
  const pool = pools.get(port);
  return { idle: pool?.idle.length ?? 0, busy: pool?.busy.size ?? 0 };
}

/** Closes every kept connection (tests; a process that stops serving). */
export function closeReplicaConnections(): void {
  for (const pool of [...pools.values()]) for (const conn of [...pool.idle, ...pool.busy]) conn.destroy(null);
  pools.clear();
}
