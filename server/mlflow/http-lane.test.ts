// The MLflow API's fast lane on a real node:http server in front of a stand-in for Next: the calls a training
// script sends answered by handleMlflow itself under both prefixes (the same answers the route handler gives);
// no token 401 and another team's run 404, as through Next; a body past the limit 400 whether announced or
// streamed; and everything the lane does not take — HEAD, OPTIONS, PUT, a trailing slash, an empty, dot or
// slash-holding segment, the artifact routes — reaching Next untouched.
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { auditEvents } from "@/db/schema";
import { installPeerAddressHook } from "../auth/request-info";
import { putFrontDoor } from "../http/front-door";
import type { StandIn } from "../http/next-stand-in";
import { frontDoorBeforeNext } from "../http/next-stand-in";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { MAX_BODY_BYTES } from "./handler";
import { acceptsGzip, mlflowPath } from "./http-lane";
import { get } from "./test-client";

// This test's client is the proxy in front of the server: its X-Forwarded-For is believed (read when the settings
// first load), and the peer-address hook stamps every request, as in a running server.
vi.stubEnv("CAIRN_TRUSTED_PROXIES", "127.0.0.1");
installPeerAddressHook();
const db = demoDatabase();
let churn = "";
let fraud = "";
let experiment = "";
let door: StandIn;
let base = "";
/** What reached the stand-in for Next. */
let toNext: string[] = [];

beforeAll(async () => {
  [churn, fraud] = await Promise.all([tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  door = await frontDoorBeforeNext();
  ({ base, toNext } = door);
});

afterAll(() => door?.close());

type Answer = { status: number; json: Record<string, unknown>; headers: Headers };

async function call(token: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(`${base}${path.startsWith("/") ? path : `/api/2.0/mlflow/${path}`}`, {
    method, body: body === undefined ? undefined : typeof body === "string" ? body : body instanceof Uint8Array ? new Blob([new Uint8Array(body)]) : JSON.stringify(body),
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
}

describe("mlflowPath", () => {
  it("takes plain segments under either prefix, decoded once, and leaves the rest to Next", () => {
    expect(mlflowPath("/api/2.0/mlflow/runs/create")).toEqual(["runs", "create"]);
    expect(mlflowPath("/ajax-api/2.0/mlflow/runs/get?run_id=x")).toEqual(["runs", "get"]);
    expect(mlflowPath("/api/2.0/mlflow/registered-models/caf%C3%A9")).toEqual(["registered-models", "café"]);
    expect(mlflowPath("/api/2.0/mlflow/registered-models/%E0%A4")).toBe("malformed");
    for (const other of ["/api/2.0/mlflow/", "/api/2.0/mlflow/runs/create/", "/api/2.0/mlflow//runs", "/api/2.0/mlflow/runs/../x", "/api/2.0/mlflow/a%2Fb", "/api/2.0/mlflow/a%5Cb", "/api/2.0/mlflow-artifacts/artifacts/x", "/api/2.0/mlflowx/runs", "/api/v1/runs"]) {
      expect(mlflowPath(other), other).toBeNull();
    }
  });
});

describe("acceptsGzip", () => {
  it("reads Accept-Encoding's codings and qualities", () => {
    for (const yes of ["gzip", "gzip, deflate, br", "deflate, GZIP;q=0.5", "*", "br;q=1, *;q=0.1", "x-gzip"]) expect(acceptsGzip(yes), yes).toBe(true);
    for (const no of [undefined, "", "identity", "deflate, br", "gzip;q=0, identity", "*;q=0", "gzip;q=0, *", "gzip;q=zero"]) expect(acceptsGzip(no), String(no)).toBe(false);
  });
});

describe("the MLflow fast lane", () => {
  it("answers a training script's calls itself, under both prefixes, as the route handler does", async () => {
    const created = await call(churn, "POST", "experiments/create", { name: `lane-${Date.now()}` });
    expect(created.status).toBe(200);
    experiment = String(created.json.experiment_id);
    const run = await call(churn, "POST", "/ajax-api/2.0/mlflow/runs/create", { experiment_id: experiment, run_name: "lane", start_time: 1 });
    expect(run.status).toBe(200);
    const runId = (run.json.run as { info: { run_id: string } }).info.run_id;
    const batch = await call(churn, "POST", "runs/log-batch", { run_id: runId, metrics: [{ key: "loss", value: 0.5, timestamp: 1, step: 0 }, { key: "loss", value: 0.25, timestamp: 2, step: 1 }] });
    expect(batch.status).toBe(200);
    expect(batch.headers.get("x-request-id")).toBeTruthy();
    const params = await call(churn, "POST", "runs/log-batch", { run_id: runId, params: [{ key: "lr", value: "0.1" }] });
    expect(params.status).toBe(200);
    const updated = await call(churn, "POST", "runs/update", { run_id: runId, status: "FINISHED", end_time: 3 });
    expect(updated.status).toBe(200);
    const history = await call(churn, "GET", `metrics/get-history?run_id=${runId}&metric_key=loss`);
    expect(history.status).toBe(200);
    expect((history.json.metrics as { value: number }[]).map((m) => m.value)).toEqual([0.5, 0.25]);
    // The same read through the handler as the route calls it: the same answer.
    const direct = await get(churn, "runs/get", { run_id: runId });
    const viaLane = await call(churn, "GET", `runs/get?run_id=${runId}`);
    expect(viaLane.status).toBe(direct.status);
    expect(viaLane.json).toEqual(direct.json);
    expect((viaLane.json.run as { data: { params: unknown[] } }).data.params).toEqual([{ key: "lr", value: "0.1" }]);
    const model = `lane-model-${Date.now()}`;
    expect((await call(churn, "POST", "registered-models/create", { name: model })).status).toBe(200);
    const deleted = await call(churn, "DELETE", "registered-models/delete", { name: model });
    expect(deleted.status).toBe(200);
    expect((await call(churn, "GET", `registered-models/get?name=${model}`)).status).toBe(404);
    expect(toNext).toEqual([]);
  });

  it("answers no token 401 and another team's run 404, and writes nothing for them", async () => {
    const run = await call(churn, "POST", "runs/create", { experiment_id: experiment, run_name: "private", start_time: 1 });
    const runId = (run.json.run as { info: { run_id: string } }).info.run_id;
    const anonymous = await call(null, "POST", "runs/log-batch", { run_id: runId, metrics: [{ key: "x", value: 1, timestamp: 1, step: 0 }] });
    expect(anonymous.status).toBe(401);
    expect(anonymous.json.error_code).toBe("UNAUTHENTICATED");
    const foreign = await call(fraud, "POST", "runs/log-batch", { run_id: runId, metrics: [{ key: "x", value: 1, timestamp: 1, step: 0 }] });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    const read = await call(fraud, "GET", `runs/get?run_id=${runId}`);
    expect(read.status).toBe(404);
    const mine = await call(churn, "GET", `runs/get?run_id=${runId}`);
    expect((mine.json.run as { data: { metrics?: unknown[] } }).data.metrics ?? []).toEqual([]);
    const unknown = await call(churn, "POST", "runs/no-such-call", {});
    expect(unknown.status).toBe(404);
    expect(unknown.json.error_code).toBe("ENDPOINT_NOT_FOUND");
  });

  it("refuses a body past the limit 400, announced or streamed, and still answers on the connection", async () => {
    const big = "x".repeat(MAX_BODY_BYTES + 1);
    const announced = await call(churn, "POST", "runs/create", big);
    expect(announced.status).toBe(400);
    expect(announced.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(String(announced.json.message)).toMatch(/larger than/);
    const port = (door.server.address() as AddressInfo).port;
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port, method: "POST", path: "/api/2.0/mlflow/runs/create", headers: { authorization: `Bearer ${churn}`, "transfer-encoding": "chunked" } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => { body += c.toString(); });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      const chunk = "y".repeat(1024 * 1024);
      for (let i = 0; i <= MAX_BODY_BYTES / chunk.length; i++) req.write(chunk);
      req.end();
    });
    expect(streamed.status).toBe(400);
    expect(JSON.parse(streamed.body)).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE" });
    expect(toNext).toEqual([]);
  });

  it("records the client's address in the audit trail: the socket's, or a trusted proxy's X-Forwarded-For", async () => {
    const ipOf = async (requestId: string) => (await db().select({ ip: auditEvents.ip }).from(auditEvents).where(eq(auditEvents.requestId, requestId)))[0]?.ip;
    const stamp = Date.now();
    const direct = await call(churn, "POST", "registered-models/create", { name: `lane-ip-${stamp}` }, { "x-request-id": `lane-direct-${stamp}` });
    expect(direct.status).toBe(200);
    expect(await ipOf(`lane-direct-${stamp}`)).toBe("127.0.0.1");
    const proxied = await call(churn, "POST", "registered-models/create", { name: `lane-ip2-${stamp}` }, { "x-request-id": `lane-proxied-${stamp}`, "x-forwarded-for": "203.0.113.7" });
    expect(proxied.status).toBe(200);
    expect(await ipOf(`lane-proxied-${stamp}`)).toBe("203.0.113.7");
    // A stamp the client forges is never believed: the hook replaces it.
    const forged = await call(churn, "POST", "registered-models/create", { name: `lane-ip3-${stamp}` }, { "x-request-id": `lane-forged-${stamp}`, "x-cairn-peer": "198.51.100.9" });
    expect(forged.status).toBe(200);
    expect(await ipOf(`lane-forged-${stamp}`)).toBe("127.0.0.1");
  });

  it("reads a body as a Web Request does (a byte order mark dropped) and gzips a large answer for a client that accepts it", async () => {
    const name = `lane-bom-${Date.now()}`;
    const bom = await call(churn, "POST", "registered-models/create", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ name }))]));
    expect(bom.status).toBe(200);
    const run = await call(churn, "POST", "runs/create", { experiment_id: experiment, run_name: "large", start_time: 1 });
    const runId = (run.json.run as { info: { run_id: string } }).info.run_id;
    for (const from of [0, 1000]) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({ key: "loss", value: (from + i) / 1000, timestamp: from + i, step: from + i }));
      expect((await call(churn, "POST", "runs/log-batch", { run_id: runId, metrics })).status).toBe(200);
    }
    const get = (acceptEncoding: string | null) => new Promise<{ headers: http.IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
      http.get(`${base}/api/2.0/mlflow/metrics/get-history?run_id=${runId}&metric_key=loss`, { headers: { authorization: `Bearer ${churn}`, ...(acceptEncoding ? { "accept-encoding": acceptEncoding } : {}) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
      }).on("error", reject);
    });
    const plain = await get(null);
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.headers.vary).toBe("Accept-Encoding");
    expect((await get("gzip;q=0, identity")).headers["content-encoding"]).toBeUndefined();
    expect(plain.body.byteLength).toBeGreaterThan(64 * 1024);
    const zipped = await get("gzip, deflate");
    expect(zipped.headers["content-encoding"]).toBe("gzip");
    expect(zipped.body.byteLength).toBeLessThan(plain.body.byteLength / 2);
    expect(gunzipSync(zipped.body).equals(plain.body)).toBe(true);
    expect((JSON.parse(plain.body.toString()) as { metrics: unknown[] }).metrics).toHaveLength(2000);
  });

  it("answers 400 a header value Web Headers refuse (which only a lenient HTTP parser lets in), and keeps serving", async () => {
    const lenient = http.createServer({ insecureHTTPParser: true }, (_req, res) => res.writeHead(299).end("next"));
    putFrontDoor(lenient);
    await new Promise<void>((resolve) => lenient.listen(0, "127.0.0.1", resolve));
    try {
      const port = (lenient.address() as AddressInfo).port;
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(port, "127.0.0.1", () => socket.write(`GET /api/2.0/mlflow/experiments/search HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nConnection: close\r\n\r\n`));
        let text = "";
        socket.on("data", (c) => { text += c.toString(); });
        socket.on("end", () => resolve(text));
        socket.on("error", reject);
      });
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
      expect(answer).toMatch(/INVALID_PARAMETER_VALUE/);
      expect((await fetch(`http://127.0.0.1:${port}/api/2.0/mlflow/experiments/search`)).status).toBe(401);
    } finally {
      lenient.closeAllConnections();
      lenient.close();
    }
  });

  it("leaves to Next what it does not take", async () => {
    toNext.length = 0;
    const paths: [string, string][] = [
      ["HEAD", "/api/2.0/mlflow/experiments/search"],
      ["OPTIONS", "/api/2.0/mlflow/runs/create"],
      ["PUT", "/api/2.0/mlflow/runs/create"],
      ["POST", "/api/2.0/mlflow/runs/create/"],
      ["POST", "/api/2.0/mlflow//runs/create"],
      ["GET", "/api/2.0/mlflow/registered-models/a%2Fb"],
      ["GET", "/api/2.0/mlflow-artifacts/artifacts/x"],
    ];
    for (const [method, path] of paths) {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${churn}` } });
      expect(res.status, `${method} ${path}`).toBe(299);
    }
    expect(toNext).toEqual(paths.map(([m, p]) => `${m} ${p}`));
  });
});
