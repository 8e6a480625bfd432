// Deployment metrics with nothing installed: requests through the real inference gateway to a real replica,
// no Prometheus, and GET /api/v1/deployments/{id}/metrics answers from Cairn's own per-minute rollups — before
// they are written (this process's minutes) and after (the table), the same. Other teams get 404.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as metricsRoute } from "@/app/api/v1/deployments/[id]/metrics/route";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { POST as servePost } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { auditEvents, inferenceMinutes } from "@/db/schema";
import type { DeploymentMetrics } from "@/lib/schemas/deployments";
import { flushInferenceRollups, resetInferenceRollups } from "@/server/observability/inference-rollups";
import { prometheusReady, releasePrometheus } from "@/server/observability/prometheus";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { settleDeployments } from "@/server/workers/testing";
import { deploymentMetrics } from "@/server/deployments/metrics";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { flushDenials } from "@/server/audit/denials";

const db = demoDatabase();
let token = "";
let fraud = "";
let id = "";

beforeAll(async () => {
  await releasePrometheus();
  resetInferenceRollups();
  [token, fraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  const at = await newRun(token, "rollups");
  await putRunFile(token, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
  const name = unique("rollup-model");
  await createModel(token, name);
  await registerVersion(token, name, at);
  const res = await call(deployRoute, { method: "POST", token, params: { name }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
  id = (res.json as { deployment_id: string }).deployment_id;
  await settleDeployments(db());
});

afterAll(async () => {
  await stopAllReplicas();
  resetInferenceRollups();
});

const infer = (rows: number[][]) => call(servePost as never, { method: "POST", token, params: { team: "churn", deployment: id, path: ["invocations"] }, body: { inputs: rows } });
const metrics = (window: string, as = token) => call(metricsRoute, { token: as, params: { id }, path: `/api/v1/deployments/${id}/metrics?window=${window}` });
const sum = (points: [number, number | null][]) => points.reduce((n, [, v]) => n + (v ?? 0), 0);

describe("deployment metrics without Prometheus", () => {
  it("charts the gateway's traffic from Cairn's own rollups, before and after they are written", async () => {
    expect(prometheusReady()).toBe(false);
    for (let i = 0; i < 30; i++) expect((await infer([[i, 1]])).status).toBe(200);
    // A path the model server does not have: a 4xx, counted but not an error of the deployment.
    expect((await call(servePost as never, { method: "POST", token, params: { team: "churn", deployment: id, path: ["nope"] }, body: {} })).status).toBe(404);
    await stopAllReplicas();
    for (let i = 0; i < 10; i++) expect((await infer([[1, 1]])).status).toBe(503);

    const before = await metrics("15m");
    expect(before.status).toBe(200);
    const m = before.json as DeploymentMetrics;
    expect(m).toMatchObject({ window: "15m", step_seconds: 60, source: "cairn", notice: null });
    expect(m.series.requests_per_second).toHaveLength(16);
    expect(m.series.requests_per_second.every(([t], i, all) => i === 0 || t - all[i - 1]![0] === 60)).toBe(true);
    expect(sum(m.series.requests_per_second)).toBeGreaterThan(0);
    // 10 of 41 answers were 5xx (the traffic may straddle a minute: the share is then split between two points).
    const shares = m.series.error_rate.map(([, v]) => v).filter((v): v is number => v !== null);
    expect(shares.length).toBeGreaterThan(0);
    expect(Math.max(...shares)).toBeGreaterThanOrEqual(10 / 41 - 1e-4);
    const p50 = m.series.latency_p50_ms.map(([, v]) => v).filter((v): v is number => v !== null);
    expect(Math.min(...p50)).toBeGreaterThan(0);
    expect(Math.max(...p50)).toBeLessThan(2500);
    expect(m.series.latency_p99_ms.some(([, v]) => v !== null)).toBe(true);

    // Written to the database, the counts read the same.
    await flushInferenceRollups(db());
    const rows = await db().select().from(inferenceMinutes).where(eq(inferenceMinutes.deploymentId, id));
    expect(rows.reduce((n, r) => n + r.requests, 0)).toBe(41);
    expect(rows.reduce((n, r) => n + r.errors5xx, 0)).toBe(10);
    expect(rows.reduce((n, r) => n + r.errors4xx, 0)).toBe(1);
    expect(new Set(rows.map((r) => r.version))).toEqual(new Set([1]));
    const after = (await metrics("15m")).json as DeploymentMetrics;
    expect(after.series.error_rate.map(([, v]) => v)).toEqual(m.series.error_rate.map(([, v]) => v));
    expect(after.series.latency_p99_ms.map(([, v]) => v)).toEqual(m.series.latency_p99_ms.map(([, v]) => v));
    // Before the deployment existed the series are null, not 0.
    const day = (await metrics("1d")).json as DeploymentMetrics;
    expect(day.step_seconds).toBe(720);
    expect(day.series.requests_per_second[0]![1]).toBeNull();
  });

  it("checks the window", async () => {
    const bad = await metrics("2m");
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toMatch(/5m to 30d/);
    expect((await metrics("31d")).status).toBe(400);
    expect((await metrics("30d")).json).toMatchObject({ source: "cairn", step_seconds: 21_600 });
  });

  it("refuses another team's member as if the deployment did not exist, and audits it", async () => {
    const res = await metrics("1h", fraud);
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.json)).not.toMatch(/churn/);
    await expect(deploymentMetrics(await ctxFor(db(), DEMO.dsFraud), { id })).rejects.toMatchObject({ code: "not_found" });
    await flushDenials(db());
    const denied = await db().select({ action: auditEvents.action, outcome: auditEvents.outcome }).from(auditEvents).where(eq(auditEvents.target, `deployment:${id}`));
    expect(denied).toContainEqual({ action: "deployment.read", outcome: "denied" });
  });
});
