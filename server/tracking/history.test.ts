// Metric history for charts: the downsampled view keeps at most max_points points and never loses a
// spike (each bucket keeps its first, last, minimum and maximum); start_step/end_step zoom in.
import { beforeAll, describe, expect, it } from "vitest";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import type { ErrorBody, Metric } from "../mlflow/test-client";
import { createExperiment, createRun, get, mlflow, post } from "../mlflow/test-client";

const db = demoDatabase();
let token = "";
let exp = "";

type Sampled = { key: string; total_points: number; sampled: boolean; metrics: Metric[] };

beforeAll(async () => {
  token = await tokenFor(db(), DEMO.ds, "churn");
  exp = await createExperiment(token, `history-${Date.now()}`);
});

/** Logs `values[i]` at step `firstStep + i * stride`, in batches of 1000 as the client does. */
async function logSeries(runId: string, key: string, values: number[], firstStep = 0, stride = 1): Promise<void> {
  for (let start = 0; start < values.length; start += 1000) {
    const metrics = values.slice(start, start + 1000).map((value, j) => ({ key, value, timestamp: 1_700_000_000_000 + start + j, step: firstStep + (start + j) * stride }));
    const res = await post(token, "runs/log-batch", { run_id: runId, metrics });
    expect(res.status, res.text).toBe(200);
  }
}

const sampled = (query: Record<string, string | number>) => get<Sampled & ErrorBody>(token, "metrics/get-history-sampled", query);

describe("get-history-sampled", () => {
  const N = 20_000;
  const SPIKE_UP = 12_345;
  const SPIKE_DOWN = 4_321;
  let runId = "";

  beforeAll(async () => {
    runId = (await createRun(token, exp)).run_id;
    const values = Array.from({ length: N }, (_, i) => 1 + Math.sin(i / 500) * 0.1);
    values[SPIKE_UP] = 1000;
    values[SPIKE_DOWN] = -1000;
    await logSeries(runId, "loss", values);
  }, 120_000);

  it("returns at most max_points points of a 20,000-point series and keeps the spikes", async () => {
    for (const maxPoints of [1000, 400, 37, 4]) {
      const res = await sampled({ run_id: runId, metric_key: "loss", max_points: maxPoints });
      expect(res.status).toBe(200);
      expect(res.json.total_points).toBe(N);
      expect(res.json.sampled).toBe(true);
      const points = res.json.metrics;
      expect(points.length).toBeLessThanOrEqual(maxPoints);
      expect(points.length).toBeGreaterThan(0);
      const values = points.map((p) => Number(p.value));
      expect(Math.max(...values)).toBe(1000);
      expect(Math.min(...values)).toBe(-1000);
      expect(points.find((p) => p.value === 1000)?.step).toBe(SPIKE_UP);
      // Ordered by step, first and last points kept.
      const steps = points.map((p) => p.step);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(steps[0]).toBe(0);
      expect(steps.at(-1)).toBe(N - 1);
    }
  });

  it("zooms with start_step/end_step", async () => {
    const res = await sampled({ run_id: runId, metric_key: "loss", max_points: 100, start_step: 12_000, end_step: 13_000 });
    expect(res.status).toBe(200);
    expect(res.json.total_points).toBe(1001);
    expect(res.json.metrics.length).toBeLessThanOrEqual(100);
    expect(res.json.metrics.every((p) => p.step >= 12_000 && p.step <= 13_000)).toBe(true);
    expect(res.json.metrics.map((p) => p.value)).toContain(1000);
    expect(res.json.metrics.map((p) => p.value)).not.toContain(-1000);

    const narrow = await sampled({ run_id: runId, metric_key: "loss", max_points: 100, start_step: 12_340, end_step: 12_349 });
    expect(narrow.json.sampled).toBe(false);
    expect(narrow.json.metrics.map((p) => p.step)).toEqual(Array.from({ length: 10 }, (_, i) => 12_340 + i));

    const empty = await sampled({ run_id: runId, metric_key: "loss", start_step: 50_000 });
    expect(empty.json).toMatchObject({ total_points: 0, metrics: [] });
  });

  it("validates max_points and answers 404 for an unknown run", async () => {
    expect((await sampled({ run_id: runId, metric_key: "loss", max_points: 3 })).status).toBe(400);
    expect((await sampled({ run_id: runId, metric_key: "loss", max_points: 5001 })).status).toBe(400);
    const missing = await sampled({ run_id: "0".repeat(32), metric_key: "loss" });
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
  });

  it("samples series whose steps are large numbers (e.g. epoch milliseconds)", async () => {
    const run = (await createRun(token, exp)).run_id;
    const values = Array.from({ length: 3000 }, (_, i) => (i === 1500 ? 99 : i % 7));
    const first = 1_700_000_000_000;
    await logSeries(run, "throughput", values, first, 60_000);
    const res = await sampled({ run_id: run, metric_key: "throughput", max_points: 200 });
    expect(res.status, res.text).toBe(200);
    expect(res.json.total_points).toBe(3000);
    expect(res.json.metrics.length).toBeLessThanOrEqual(200);
    expect(res.json.metrics.find((p) => p.value === 99)?.step).toBe(first + 1500 * 60_000);
    expect(res.json.metrics[0]?.step).toBe(first);
    expect(res.json.metrics.at(-1)?.step).toBe(first + 2999 * 60_000);
  });

  it("keeps NaN and infinite points as strings", async () => {
    const run = (await createRun(token, exp)).run_id;
    const body = `{"run_id": "${run}", "metrics": [${Array.from({ length: 50 }, (_, i) => `{"key": "g", "value": ${i === 10 ? "NaN" : i === 20 ? "Infinity" : i === 30 ? "-Infinity" : i}, "timestamp": ${i}, "step": ${i}}`).join(", ")}]}`;
    expect((await mlflow(token, "POST", "runs/log-batch", { body })).status).toBe(200);
    const res = await sampled({ run_id: run, metric_key: "g", max_points: 8 });
    expect(res.status).toBe(200);
    expect(res.json.metrics.length).toBeLessThanOrEqual(8);
    const values = res.json.metrics.map((p) => p.value);
    expect(values).toContain("-Infinity");
    expect(values.some((v) => v === "NaN" || v === "Infinity")).toBe(true);
  });
});
