// Deployment metrics over time with a real Prometheus (the Debian binary CI installs): it scrapes this
// process's /api/metrics exposition while requests go through the inference gateway, and the metrics
// route answers request rate, latency percentiles and error rate from it — or, when it does not answer,
// from Cairn's own per-minute rollups (server/deployments/metrics-rollups.test.ts covers those alone).
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inferenceMinutes } from "@/db/schema";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { GET as metricsRoute } from "@/app/api/v1/deployments/[id]/metrics/route";
import { POST as servePost } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { deploymentMetrics } from "@/server/deployments/metrics";
import type { DeploymentMetrics } from "@/server/deployments/metrics";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { GET as exposeMetrics } from "@/app/api/metrics/route";
import { metricsToken } from "@/server/env";
import { flushInferenceRollups } from "@/server/observability/inference-rollups";
import { readSignalFromPrometheus, readSignalFromRollups } from "@/server/observability/serving-signals";
import { findBinary, prometheusUrl, releasePrometheus, connectPrometheus } from "@/server/observability/prometheus";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { settleDeployments } from "@/server/workers/testing";

const binary = findBinary("prometheus", (process.env.PATH ?? "").split(path.delimiter).filter(Boolean));
const db = demoDatabase();
let token = "";
let fraud = "";
let id = "";
let exposition: http.Server;
let dir = "";
const scrapes: string[] = [];

describe.skipIf(!binary)("deployment metrics from Prometheus", () => {
  beforeAll(async () => {
    [token, fraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
    // The /api/metrics route itself, on a port of its own: Prometheus scrapes this process with the metrics
    // token; without it the route would sum the team and deployment labels away and the charts stay empty.
    exposition = http.createServer((req, res) => {
      const headers = new Headers();
      if (req.headers.authorization) headers.set("authorization", req.headers.authorization);
      scrapes.push(req.headers.authorization ?? "");
      void exposeMetrics(new Request("http://localhost/api/metrics", { headers }))
        .then(async (r) => res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/plain" }).end(await r.text()));
    });
    await new Promise<void>((r) => exposition.listen(0, "127.0.0.1", r));
    dir = mkdtempSync(path.join(os.tmpdir(), "cairn-prometheus-"));
    await connectPrometheus({ managed: { binary: binary!, dir, scrapeTarget: `127.0.0.1:${(exposition.address() as AddressInfo).port}`, scrapeIntervalSeconds: 1, scrapeToken: metricsToken() } });

    const at = await newRun(token, "metrics");
    await putRunFile(token, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
    const name = unique("metrics-model");
    await createModel(token, name);
    await registerVersion(token, name, at);
    const res = await call(deployRoute, { method: "POST", token, params: { name }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
    id = (res.json as { deployment_id: string }).deployment_id;
    await settleDeployments(db());
  });

  afterAll(async () => {
    await stopAllReplicas();
    await releasePrometheus();
    await new Promise((r) => exposition?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const infer = (rows: number[][]) =>
    call(servePost as never, { method: "POST", token, params: { team: "churn", deployment: id, path: ["invocations"] }, body: { inputs: rows } });

  it("answers rate, latency and errors of the gateway's traffic", async () => {
    // A counter's increase shows from its first scrape on: wait until Prometheus has this process up.
    const url = prometheusUrl();
    const scraped = Date.now() + 20_000;
    while (Date.now() < scraped) {
      const up = (await (await fetch(`${url}/api/v1/query?query=up`)).json()) as { data: { result: { value: [number, string] }[] } };
      if (up.data.result[0]?.value[1] === "1") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (let i = 0; i < 40; i++) {
      expect((await infer([[i, 1]])).status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    // A few scrapes of successes only, then 5xx: nothing serves while the replicas are down.
    await new Promise((r) => setTimeout(r, 6000));
    await stopAllReplicas();
    for (let i = 0; i < 10; i++) expect((await infer([[1, 1]])).status).toBe(503);
    const ctx = await ctxFor(db(), DEMO.ds);
    let m: DeploymentMetrics | undefined;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      m = await deploymentMetrics(ctx, { id, window: "5m", scrapeSeconds: 1 });
      if (m.series.requests_per_second.some(([, v]) => (v ?? 0) > 0) && m.series.error_rate.some(([, v]) => (v ?? 0) > 0)) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(m!.window).toBe("5m");
    expect(m!.source).toBe("prometheus");
    expect(m!.notice).toBeNull();
    expect(m!.step_seconds).toBe(3);
    const { requests_per_second: rps, latency_p50_ms: p50, latency_p99_ms: p99, error_rate: errors } = m!.series;
    // Dense: one point per step over the window, timestamps aligned to the step.
    expect(rps.length).toBe(101);
    expect(rps.every(([t], i) => i === 0 || t - rps[i - 1]![0] === 3)).toBe(true);
    expect(Math.max(...rps.map(([, v]) => v ?? 0))).toBeGreaterThan(0);
    const latencies = p50.map(([, v]) => v).filter((v): v is number => v !== null);
    expect(latencies.length).toBeGreaterThan(0);
    expect(Math.min(...latencies)).toBeGreaterThan(0);
    expect(Math.max(...latencies)).toBeLessThan(2500);
    expect(p99.filter(([, v]) => v !== null).length).toBeGreaterThan(0);
    // The 503s show as errors; while only successes flowed the error rate was 0.
    expect(Math.max(...errors.map(([, v]) => v ?? 0))).toBeGreaterThan(0);
    expect(rps.some(([t, v]) => (v ?? 0) > 0 && errors.find(([te]) => te === t)?.[1] === 0)).toBe(true);
    // An alert rule on the error share reads the same from Prometheus (the expression it would be exported
    // with) and from Cairn's rollups: 10 of 50 answers.
    const rule = { signal: "error_share" as const, deploymentId: id, threshold: 0.1, windowSeconds: 300, minRequests: 20 };
    const cairn = await readSignalFromRollups(db(), { ...rule, deploymentVersion: 1 });
    expect(cairn).toMatchObject({ value: 0.2, requests: 50, breaching: true, source: "cairn" });
    let fromProm = await readSignalFromPrometheus(url, rule);
    for (const until = Date.now() + 10_000; Date.now() < until && Math.abs((fromProm.value ?? 0) - 0.2) > 0.005; await new Promise((r) => setTimeout(r, 500))) fromProm = await readSignalFromPrometheus(url, rule);
    expect(fromProm.value).toBeCloseTo(0.2, 2);
    expect(fromProm.requests).toBeGreaterThanOrEqual(49);
    expect(fromProm.breaching).toBe(true);
    // Every scrape carried the token (from the credentials file Cairn wrote beside the config).
    expect(scrapes.length).toBeGreaterThan(0);
    expect(scrapes.every((a) => a === `Bearer ${metricsToken()}`)).toBe(true);
  }, 60_000);

  it("checks the window and hides other teams' deployments", async () => {
    const bad = await call(metricsRoute, { token, params: { id }, path: `/api/v1/deployments/${id}/metrics?window=2m` });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toMatch(/5m to 30d/);
    expect((await call(metricsRoute, { token: fraud, params: { id }, path: `/api/v1/deployments/${id}/metrics` })).status).toBe(404);
    const ok = await call(metricsRoute, { token, params: { id }, path: `/api/v1/deployments/${id}/metrics?window=1h` });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ window: "1h", step_seconds: 30 });
  });

  it("falls back to Cairn's own rollups, and says so, when the configured Prometheus does not answer", async () => {
    await releasePrometheus();
    // Nothing listens on port 9 (discard) here: a Prometheus that is configured but down.
    await connectPrometheus({ url: "http://127.0.0.1:9" });
    const res = await call(metricsRoute, { token, params: { id }, path: `/api/v1/deployments/${id}/metrics?window=15m` });
    expect(res.status).toBe(200);
    const m = res.json as DeploymentMetrics;
    expect(m).toMatchObject({ window: "15m", source: "cairn", step_seconds: 60, notice: expect.stringMatching(/Prometheus did not answer/) });
    // The 40 answers and 10 refusals above, from the rollups (this process's minutes not yet written included).
    expect(Math.max(...m.series.requests_per_second.map(([, v]) => v ?? 0))).toBeGreaterThan(0);
    expect(Math.max(...m.series.error_rate.map(([, v]) => v ?? 0))).toBeGreaterThan(0);
    expect(m.series.latency_p50_ms.some(([, v]) => v !== null && v > 0)).toBe(true);
    await flushInferenceRollups(db());
    const [stored] = await db().select({ n: sql<number>`sum(${inferenceMinutes.requests})::int`, e: sql<number>`sum(${inferenceMinutes.errors5xx})::int` }).from(inferenceMinutes).where(eq(inferenceMinutes.deploymentId, id));
    expect(stored).toEqual({ n: 50, e: 10 });
    // The internal address stays in the server's log.
    expect(m.notice).not.toMatch(/127\.0\.0\.1/);
  });

  it("answers from Cairn's own rollups when no Prometheus is there", async () => {
    await releasePrometheus();
    const res = await call(metricsRoute, { token, params: { id }, path: `/api/v1/deployments/${id}/metrics` });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ window: "1h", source: "cairn", notice: null, step_seconds: 60 });
  });
});
