// The MLflow API's fast lane on a real node:http server in front of a stand-in for Next: the calls a training
// script sends answered by handleMlflow itself under both prefixes (the same answers the route handler gives);
// no token 401 and another team's run 404, as through Next; a body past the limit 400 whether announced or
// streamed; and everything the lane does not take — HEAD, OPTIONS, PUT, a trailing slash, an empty, dot or
// slash-holding segment, the artifact routes — reaching Next untouched.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { putFrontDoor } from "../http/front-door";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { MAX_BODY_BYTES } from "./handler";
import { mlflowPath } from "./http-lane";
import { get } from "./test-client";

const db = demoDatabase();
let churn = "";
let fraud = "";
let experiment = "";
let server: http.Server;
let base = "";
/** What reached the stand-in for Next. */
const toNext: string[] = [];

beforeAll(async () => {
  [churn, fraud] = await Promise.all([tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  server = http.createServer((req, res) => {
    toNext.push(`${req.method} ${req.url}`);
    res.writeHead(299, { "content-type": "text/plain" });
    res.end("next");
  });
  putFrontDoor(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server?.closeAllConnections();
  server?.close();
});

type Answer = { status: number; json: Record<string, unknown>; headers: Headers };

async function call(token: string | null, method: string, path: string, body?: unknown): Promise<Answer> {
  const res = await fetch(`${base}${path.startsWith("/") ? path : `/api/2.0/mlflow/${path}`}`, {
    method, body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
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
    const port = (server.address() as AddressInfo).port;
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
