import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { chartHistories, chartRuns } from "./charts";
import { createExperiment } from "./experiments";
import { encodeParam, parameterImportance } from "./importance";
import { logBatch } from "./logging";
import { createRun } from "./runs";

const db = demoDatabase();

/** Eight runs: auc follows lr (and not seed); opt is categorical; run 0 logs a long loss curve. */
async function fixture() {
  const ctx = await ctxFor(db(), DEMO.ds);
  const { experiment_id: experimentId } = await createExperiment(ctx, { name: `charts-${Math.random().toString(36).slice(2)}` });
  const runIds: string[] = [];
  for (let i = 0; i < 8; i++) {
    const run = await createRun(ctx, { experiment_id: experimentId, run_name: `r${i}`, start_time: 1_700_000_000_000 + i, tags: [] });
    runIds.push(run.info.run_id);
    const steps = i === 0 ? 600 : 10;
    const loss = Array.from({ length: steps }, (_, s) => ({ key: "loss", value: s === 300 ? 99 : 1 / (s + 1), step: s, timestamp: 1_700_000_000_000 + s }));
    for (let from = 0; from < loss.length; from += 500) await logBatch(ctx, { run_id: run.info.run_id, metrics: loss.slice(from, from + 500), params: [], tags: [] });
    await logBatch(ctx, {
      run_id: run.info.run_id,
      params: [{ key: "lr", value: String(0.01 * (i + 1)) }, { key: "seed", value: String((i * 7) % 3) }, { key: "opt", value: i % 2 ? "adam" : "sgd" }],
      metrics: [{ key: "auc", value: 0.5 + 0.05 * i, step: 0 }],
      tags: [],
    });
  }
  return { ctx, experimentId, runIds };
}

describe("experiment chart data", () => {
  it("answers the chosen keys of every run in the filter, one array per key", async () => {
    const { ctx, experimentId, runIds } = await fixture();
    const all = await chartRuns(ctx, { experimentId, keys: ["params.lr", "params.opt", "metrics.auc", "attributes.status", "metrics.missing"] });
    expect(all.total).toBe(8);
    expect(all.truncated).toBe(false);
    expect(all.runs.map((r) => r.run_name)).toEqual(["r7", "r6", "r5", "r4", "r3", "r2", "r1", "r0"]);
    expect(all.values["params.opt"]!.slice(0, 2)).toEqual(["adam", "sgd"]);
    expect(all.values["metrics.auc"]![7]).toBe(0.5);
    expect(all.values["attributes.status"]![0]).toBe("RUNNING");
    expect(all.values["metrics.missing"]).toEqual(new Array(8).fill(null));
    const some = await chartRuns(ctx, { experimentId, filter: "params.opt = 'adam' and metrics.auc > 0.6", keys: ["params.lr"] });
    expect(some.runs.map((r) => r.run_id)).toEqual([runIds[7], runIds[5], runIds[3]]);
    await expect(chartRuns(ctx, { experimentId, filter: "metrics.auc >", keys: [] })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(chartRuns(ctx, { experimentId, keys: ["attributes.password"] })).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("answers one metric's history for all runs, short runs as logged and long ones downsampled with extremes kept", async () => {
    const { ctx, experimentId, runIds } = await fixture();
    const h = await chartHistories(ctx, { experimentId, metric: "loss", maxPoints: 40 });
    expect(h.points_per_run).toBe(40);
    expect(h.runs).toHaveLength(8);
    const short = h.runs.find((r) => r.run_id === runIds[3])!;
    expect(short).toMatchObject({ total_points: 10, sampled: false });
    expect(short.steps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(short.values[1]).toBe(0.5);
    const long = h.runs.find((r) => r.run_id === runIds[0])!;
    expect(long).toMatchObject({ total_points: 600, sampled: true });
    expect(long.values.length).toBeLessThanOrEqual(40);
    expect(long.values.length).toBeGreaterThan(4);
    expect(long.values).toContain(99); // the spike survives
    expect(long.steps[0]).toBe(0);
    expect(long.steps.at(-1)).toBe(599);
    expect([...long.steps].sort((a, b) => a - b)).toEqual(long.steps);
    const filtered = await chartHistories(ctx, { experimentId, filter: "params.opt = 'adam'", metric: "loss", maxPoints: 40 });
    expect(filtered.runs.map((r) => r.run_id).sort()).toEqual([runIds[1], runIds[3], runIds[5], runIds[7]].sort());
    expect((await chartHistories(ctx, { experimentId, metric: "nope", maxPoints: 40 })).runs).toEqual([]);
    // A budget of 8: the 10-step runs are bucketed from their raw points, the long run read from a coarser rollup level.
    const tight = await chartHistories(ctx, { experimentId, metric: "loss", maxPoints: 8 });
    const medium = tight.runs.find((r) => r.run_id === runIds[3])!;
    expect(medium).toMatchObject({ total_points: 10, sampled: true });
    // The rollup bucket's extremes (steps 0 and 9) and every third raw point between them.
    expect(medium.steps).toEqual([0, 3, 6, 9]);
    expect(medium.values).toEqual([1, 0.25, 1 / 7, 0.1]);
    const coarse = tight.runs.find((r) => r.run_id === runIds[0])!;
    expect(coarse.values.length).toBeLessThanOrEqual(8);
    expect(coarse.values).toContain(99);
  });

  it("ranks the param that drives the objective first (scikit-learn's random forest), or says what it needs", async (t) => {
    const { ctx, experimentId, runIds } = await fixture();
    const missing = await parameterImportance(ctx, { experimentId, objective: "auc" }, "/nonexistent/python3");
    expect(missing).toMatchObject({ available: false, importances: [] });
    expect(missing.message).toMatch(/scikit-learn.*CAIRN_OPTUNA_PYTHON/);
    const few = await parameterImportance(ctx, { experimentId, filter: "params.opt = 'adam'", objective: "auc" });
    expect(few.importances).toEqual([]);
    expect(few.message).toMatch(/at least 5 runs with auc; this filter has 4/);
    const result = await parameterImportance(ctx, { experimentId, objective: "auc" });
    if (!result.available) {
      t.skip(`scikit-learn is not importable with CAIRN_OPTUNA_PYTHON: ${result.message}`);
      return;
    }
    expect(result.runs_used).toBe(8);
    expect(result.method).toMatch(/scikit-learn .*RandomForestRegressor/);
    expect(result.importances.map((i) => i.param)).toHaveLength(3);
    expect(result.importances[0]).toMatchObject({ param: "lr", kind: "numeric" });
    expect(result.importances.find((i) => i.param === "opt")).toMatchObject({ kind: "categorical" });
    expect(result.importances.reduce((s, i) => s + i.importance, 0)).toBeCloseTo(1, 5);
    // A param with its own value in every run (an id) is left out, and the message says so.
    for (const [i, id] of runIds.entries()) await logBatch(ctx, { run_id: id, params: [{ key: "commit", value: `c${i}` }], metrics: [], tags: [] });
    const withId = await parameterImportance(ctx, { experimentId, objective: "auc", params: ["lr", "commit"] });
    expect(withId.importances.map((i) => i.param)).toEqual(["lr"]);
    expect(withId.message).toMatch(/Skipped commit: nearly every run has its own value/);
  });

  it("fits one forest at a time on the host: a few requests wait, the rest are told to retry; an identical question is answered again without a new fit", async () => {
    const { ctx, experimentId } = await fixture();
    // A stand-in for the Python worker that notes how many of it run at once.
    const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-importance-"));
    const fake = path.join(dir, "python");
    writeFileSync(fake, `#!/bin/sh\ncat >/dev/null\ntouch "${dir}/run.$$"\nls "${dir}" | grep -c '^run\\.' >> "${dir}/peaks"\nsleep 0.4\nrm "${dir}/run.$$"\necho '{"importances":{"lr":0.6,"opt":0.3,"depth":0.1},"library":"fake"}'\n`, { mode: 0o755 });
    try {
      const asks = Array.from({ length: 8 }, (_, i) => parameterImportance(ctx, { experimentId, objective: "auc", params: i % 2 ? ["lr", "opt"] : ["lr", "depth", "opt"].slice(0, 1 + (i % 3)) }, fake).then(() => "ok", (err: { code?: string }) => err.code));
      const results = await Promise.all(asks);
      expect(results.filter((r) => r === "rate_limited").length).toBeGreaterThan(0);
      expect(results.filter((r) => r === "ok").length).toBeGreaterThanOrEqual(2);
      const peaks = readFileSync(path.join(dir, "peaks"), "utf8").trim().split("\n").map(Number);
      expect(Math.max(...peaks)).toBe(1);
      const fits = peaks.length;
      await parameterImportance(ctx, { experimentId, objective: "auc", params: ["lr", "opt"] }, fake);
      expect(readFileSync(path.join(dir, "peaks"), "utf8").trim().split("\n")).toHaveLength(fits);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("encodes numbers as numbers and categories as codes, a missing value apart from both", () => {
    expect(encodeParam("lr", ["0.1", null, "0.3"])).toEqual({ name: "lr", kind: "numeric", column: [0.1, expect.closeTo(-1.1, 9), 0.3] });
    expect(encodeParam("opt", ["sgd", "adam", null, "sgd"])).toEqual({ name: "opt", kind: "categorical", column: [1, 0, -1, 1] });
  });

  it("refuses another team's actor", async () => {
    const { experimentId } = await fixture();
    const fraud = await ctxFor(db(), DEMO.dsFraud);
    await expect(chartRuns(fraud, { experimentId, keys: ["params.lr"] })).rejects.toMatchObject({ code: "not_found" });
    await expect(chartHistories(fraud, { experimentId, metric: "loss", maxPoints: 40 })).rejects.toMatchObject({ code: "not_found" });
    await expect(parameterImportance(fraud, { experimentId, objective: "auc" })).rejects.toMatchObject({ code: "not_found" });
  });
});
