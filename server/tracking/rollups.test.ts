import { asc, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { metricRollups } from "@/db/schema";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { createExperiment } from "./experiments";
import { getSampledHistory } from "./history";
import { logBatch } from "./logging";
import { rebuildRollups } from "./rollups";
import { createRun } from "./runs";

const db = demoDatabase();

async function newRun(name: string): Promise<string> {
  const ctx = await ctxFor(db(), DEMO.ds);
  const exp = await createExperiment(ctx, { name });
  return (await createRun(ctx, { experiment_id: exp.experiment_id, tags: [] })).info.run_id;
}

async function snapshot(runId: string) {
  return db().select().from(metricRollups).where(sql`${metricRollups.runId} = ${runId}`).orderBy(asc(metricRollups.key), asc(metricRollups.level), asc(metricRollups.bucket));
}

describe("metric rollups", () => {
  it("are maintained by every batch exactly as a rebuild from the raw history computes them", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const runId = await newRun("rollup-writes");
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let b = 0; b < 12; b++) {
      const points = Array.from({ length: 300 }, (_, i) => ({ key: i % 3 === 0 ? "loss" : "acc", value: rand() * 10 - 5, step: Math.floor(rand() * 70_000), timestamp: 1_700_000_000_000 + b * 1000 + i }));
      points.push({ key: "loss", value: Number.NaN, step: 5, timestamp: 1 }); // not plotted, not rolled up
      await logBatch(ctx, { run_id: runId, metrics: points, params: [], tags: [] });
    }
    const maintained = await snapshot(runId);
    expect(maintained.length).toBeGreaterThan(100);
    await rebuildRollups(db(), [runId]);
    expect(await snapshot(runId)).toEqual(maintained);
  });

  it("are maintained for keys with quotes, backslashes, braces and commas as for any other (service callers send any key)", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const runId = await newRun("rollup-odd-keys");
    const keys = ['a"b', "c\\d", "{e,f}", 'end\\"', "ü/ß"];
    const metrics = keys.flatMap((key, k) => [0, 70, 2000].map((step) => ({ key, value: k * 10 + step / 1000, step, timestamp: 5 + step })));
    await logBatch(ctx, { run_id: runId, metrics, params: [], tags: [] });
    const maintained = await snapshot(runId);
    expect(new Set(maintained.map((r) => r.key))).toEqual(new Set(keys));
    expect(maintained.filter((r) => r.key === "c\\d").map((r) => [r.level, r.bucket, r.n, r.maxValue])).toEqual([[0, 0, 1, 10], [0, 1, 1, 10.07], [0, 31, 1, 12], [1, 0, 2, 10.07], [1, 1, 1, 12], [2, 0, 3, 12]]);
    await rebuildRollups(db(), [runId]);
    expect(await snapshot(runId)).toEqual(maintained);
  });

  it("downsample a 200k-point series from the rollups, keeping a one-point spike", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const runId = await newRun("rollup-reads");
    await db().execute(sql`insert into metrics (run_id, key, value, step, timestamp)
      select ${runId}, 'loss', case when g = 123457 then 1000 when g = 54321 then -1000 else sin(g / 5000.0) end, g, 1700000000000 + g
      from generate_series(0, 199999) g`);
    await rebuildRollups(db(), [runId]);
    const sampled = await getSampledHistory(ctx, { run_id: runId, metric_key: "loss", max_points: 1000 });
    expect(sampled).toMatchObject({ sampled: true, total_points: 200_000 });
    expect(sampled.metrics.length).toBeLessThanOrEqual(1000);
    expect(sampled.metrics.length).toBeGreaterThan(500);
    const values = sampled.metrics.map((m) => m.value as number);
    expect(Math.max(...values)).toBe(1000);
    expect(Math.min(...values)).toBe(-1000);
    const steps = sampled.metrics.map((m) => m.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));

    // Zooming in on a small range reads raw points and still keeps the spike.
    const zoomed = await getSampledHistory(ctx, { run_id: runId, metric_key: "loss", max_points: 400, start_step: 120_000, end_step: 130_000 });
    expect(zoomed.metrics.length).toBeLessThanOrEqual(400);
    expect(zoomed.metrics.every((m) => m.step >= 120_000 && m.step <= 130_000)).toBe(true);
    expect(Math.max(...zoomed.metrics.map((m) => m.value as number))).toBe(1000);
  });
});
