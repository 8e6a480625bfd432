// The MLflow tracking API's fast lane: in a running server, /api/2.0/mlflow/… and /ajax-api/2.0/mlflow/… are
// answered straight from Node's HTTP server, before Next's request handling. Next's routing, its Web
// Request/Response adapters and stream copies cost about as much server CPU per call as Cairn's own work for the
// calls training scripts send all the time (a 10-metric log-batch: ~1.2 ms a request through Next, ~0.35 ms
// here). Same port, same addresses, same answers: the lane calls the very handleMlflow the route handler
// (app/api/2.0/mlflow/[...path]/route.ts) calls, and anything it does not take — HEAD, OPTIONS, another
// method, a path that is not plain segments (empty, dot, a decoded slash, a trailing slash Next redirects) —
// goes on to Next as before. The artifact routes (/api/2.0/mlflow-artifacts/…) stay with Next (streamed bodies).
// The front door (server/http/front-door.ts) puts the lane ahead of Next on the server Next listens on.
import type { IncomingMessage, ServerResponse } from "node:http";
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { decodeSegment } from "@/lib/path-segment";
import { AppError } from "../errors";
import { log } from "../observability/log";
import { BadHeaderValue, readNodeBody, webHeaders } from "../http/node-request";
import { pathOf } from "../http/request-target";
import { handleMlflow, MAX_BODY_BYTES } from "./handler";

const UTF8 = new TextDecoder();
const PREFIXES = ["/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/"];
/** What the route handler exports; HEAD and OPTIONS keep Next's own answers. */
const METHODS = new Set(["GET", "POST", "PATCH", "DELETE"]);

/**
 * The route's `[...path]` of a request target, each segment percent-decoded once (as Next decodes a route's
 * params): null when the lane does not take the path (Next answers it), "malformed" when a segment's
 * percent-encoding is.
 */
export function mlflowPath(target: string): string[] | "malformed" | null {
  const pathname = pathOf(target);
  const prefix = PREFIXES.find((p) => pathname.startsWith(p));
  if (!prefix) return null;
  const raw = pathname.slice(prefix.length).split("/");
  if (raw.some((s) => s === "" || s.includes("\\"))) return null;
  const decoded = raw.map(decodeSegment);
  if (decoded.some((s) => s === null)) return "malformed";
  if (decoded.some((s) => s === "." || s === ".." || s!.includes("/") || s!.includes("\\"))) return null;
  return decoded as string[];
}

/**
 * A node:http request as handleMlflow reads it: its method, URL (path and query; the origin is not read), headers
 * and body text. Built once per request with no Web stream behind it.
 */
class IncomingMlflowRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: Headers;
  private body: Promise<string> | undefined;

  constructor(private readonly req: IncomingMessage) {
    this.method = req.method ?? "GET";
    this.url = `http://localhost${req.url ?? "/"}`;
    this.headers = webHeaders(req);
  }

  /** The body as UTF-8 text; a body past the handler's limit is refused (the handler answers it 400). */
  text(): Promise<string> {
    return (this.body ??= readNodeBody(this.req, MAX_BODY_BYTES, () => new ClientGone()).then((data) => {
      if (data === null) throw new AppError("invalid_input", `Request body is larger than ${MAX_BODY_BYTES} bytes.`);
      // As a Web Request's text(): UTF-8, a leading byte order mark dropped.
      return UTF8.decode(data);
    }));
  }
}

/** The client closed the connection before its body arrived: answered 400 to nobody, and not logged as a failure. */
class ClientGone extends AppError {
  constructor() {
    super("invalid_input", "The client closed the connection before sending the whole request body.");
  }
}

/** Answers at least this large are gzipped for a client that accepts it (Next compresses what it answers, too). */
const COMPRESS_FROM_BYTES = 64 * 1024;
const gzipAsync = promisify(gzip);

/** Whether an Accept-Encoding header accepts gzip (listed, or `*`, with a quality above 0). */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  let gzipQ: number | undefined;
  let anyQ: number | undefined;
  for (const part of header.split(",")) {
    const [coding, ...params] = part.trim().toLowerCase().split(";");
    const qParam = params.map((x) => x.trim()).find((x) => x.startsWith("q="));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (coding === "gzip" || coding === "x-gzip") gzipQ = Number.isNaN(q) ? 0 : q;
    else if (coding === "*") anyQ = Number.isNaN(q) ? 0 : q;
  }
  return (gzipQ ?? anyQ ?? 0) > 0;
}

async function send(req: IncomingMessage, res: ServerResponse, response: Response): Promise<void> {
  let body = Buffer.from(await response.arrayBuffer());
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => { if (name !== "set-cookie") headers[name] = value; });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (!headers["content-encoding"]) {
    // Every answer that could be compressed varies by what the client accepts (a cache must not mix them up).
    headers.vary = headers.vary ? `${headers.vary}, Accept-Encoding` : "Accept-Encoding";
    if (body.byteLength >= COMPRESS_FROM_BYTES && acceptsGzip(req.headers["accept-encoding"])) {
      // On libuv's thread pool, at the fastest level: a page of 25,000 history points (2 MB) shrinks 4.6-fold in 13 ms.
      body = await gzipAsync(body, { level: 1 });
      headers["content-encoding"] = "gzip";
    }
  }
  headers["content-length"] = String(body.byteLength);
  if (res.destroyed) return;
  res.writeHead(response.status, headers);
  res.end(body);
}

/** An error the lane answers itself, in MLflow's shape. */
function answerError(res: ServerResponse, status: number, errorCode: string, message: string): true {
  const body = JSON.stringify({ error_code: errorCode, message });
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
  return true;
}

function failed(res: ServerResponse, err: unknown): void {
  if (res.destroyed) return;
  log.error("the MLflow API's fast lane failed to answer", { err });
  if (res.headersSent) return void res.destroy();
  answerError(res, 500, "INTERNAL_ERROR", "The server failed to answer; the error was logged.");
}

/**
 * Answers a request the lane takes; returns false (having done nothing) for one it does not, which goes on to Next.
 * Never throws: a failure is logged and answered 500 in MLflow's error shape.
 */
export function handleMlflowHttp(req: IncomingMessage, res: ServerResponse): boolean {
  if (!METHODS.has(req.method ?? "")) return false;
  const path = mlflowPath(req.url ?? "");
  if (path === null) return false;
  if (path === "malformed") return answerError(res, 400, "INVALID_PARAMETER_VALUE", "The URL path is not valid percent-encoding; encode each path segment with encodeURIComponent.");
  let request: IncomingMlflowRequest;
  try {
    request = new IncomingMlflowRequest(req);
  } catch (err) {
    // A header value Web Headers refuse (only a lenient HTTP parser lets one through): answered, never thrown
    // out of the request listener, which would end the process.
    if (err instanceof BadHeaderValue) return answerError(res, 400, "INVALID_PARAMETER_VALUE", `${err.message}.`);
    failed(res, err);
    return true;
  }
  handleMlflow(request, path).then((response) => send(req, res, response)).catch((err: unknown) => failed(res, err));
  return true;
}
