import { asc, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { metricFoldQueue, metricRollups, runs } from "@/db/schema";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { createExperiment } from "./experiments";
import { getSampledHistory, historyPointCounts } from "./history";
import { logBatch } from "./logging";
import { foldQueued, foldQueuedRuns, rebuildRollups } from "./rollups";
import { createRun } from "./runs";

const db = demoDatabase();

async function newRun(name: string): Promise<string> {
  const ctx = await ctxFor(db(), DEMO.ds);
  const exp = await createExperiment(ctx, { name });
  return (await createRun(ctx, { experiment_id: exp.experiment_id, tags: [] })).info.run_id;
}

/** The run's rollups once its queued points are folded (as every reader of them folds first). */
async function snapshot(runId: string) {
  const [run] = await db().select({ experimentId: runs.experimentId }).from(runs).where(eq(runs.id, runId));
  await foldQueuedRuns(db(), [{ experimentId: run!.experimentId, runId }]);
  return db().select().from(metricRollups).where(sql`${metricRollups.runId} = ${runId}`).orderBy(asc(metricRollups.key), asc(metricRollups.level), asc(metricRollups.bucket));
}

describe("metric rollups", () => {
  it("are folded from every batch's queued points exactly as a rebuild from the raw history computes them", async () => {
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

  it("are queued by a write with the points it inserted, and folded in the background", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const runId = await newRun("rollup-queue");
    const points = Array.from({ length: 40 }, (_, i) => ({ key: i % 2 ? "loss" : "acc", value: Math.sin(i), step: i * 100, timestamp: 1_000 + i }));
    const queued = () => db().select().from(metricFoldQueue).where(eq(metricFoldQueue.runId, runId)).orderBy(asc(metricFoldQueue.id));
    await logBatch(ctx, { run_id: runId, metrics: points.slice(0, 30), params: [], tags: [] });
    // A retry inserts nothing and queues nothing; an overlapping batch queues only its new points.
    await logBatch(ctx, { run_id: runId, metrics: points.slice(0, 30), params: [], tags: [] });
    await logBatch(ctx, { run_id: runId, metrics: points.slice(20), params: [{ key: "p", value: "1" }], tags: [] });
    // At any instant (one snapshot) each of the 40 distinct points is either queued or folded, never both or neither;
    // the retry queued nothing, so there are at most two queue rows.
    const split = async () => ((await db().execute(sql`select
        (select coalesce(sum(cardinality(steps)), 0) from metric_fold_queue where run_id = ${runId})::int as queued,
        (select count(*) from metric_fold_queue where run_id = ${runId})::int as rows,
        (select coalesce(sum(n), 0) from metric_rollups where run_id = ${runId} and level = 2)::int as folded`)) as unknown as { rows: { queued: number; rows: number; folded: number }[] }).rows[0]!;
    const now = await split();
    expect(Number(now.queued) + Number(now.folded)).toBe(40);
    expect(Number(now.rows)).toBeLessThanOrEqual(2);
    await expect.poll(async () => (await queued()).length, { timeout: 10_000 }).toBe(0);
    const folded = await db().select().from(metricRollups).where(eq(metricRollups.runId, runId)).orderBy(asc(metricRollups.key), asc(metricRollups.level), asc(metricRollups.bucket));
    expect(folded.find((r) => r.key === "acc" && r.level === 2)?.n).toBe(20);
    await rebuildRollups(db(), [runId]);
    expect(await snapshot(runId)).toEqual(folded);
  });

  it("are read with every point written before the read, folded or not", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const runId = await newRun("rollup-read-folds");
    // Long enough (60,000 points) for the sampled history to read the rollups, not the raw points.
    for (let b = 0; b < 60; b++) {
      const metrics = Array.from({ length: 1000 }, (_, i) => ({ key: "loss", value: Math.cos(b * 1000 + i), step: b * 1000 + i, timestamp: b * 1000 + i }));
      await logBatch(ctx, { run_id: runId, metrics, params: [], tags: [] });
    }
    const sampled = await getSampledHistory(ctx, { run_id: runId, metric_key: "loss", max_points: 1000 });
    expect(sampled).toMatchObject({ sampled: true, total_points: 60_000 });
    expect(sampled.metrics.at(-1)?.step).toBe(59_999);
    await logBatch(ctx, { run_id: runId, metrics: [{ key: "loss", value: 7, step: 60_000, timestamp: 60_000 }, { key: "acc", value: 1, step: 0, timestamp: 1 }], params: [], tags: [] });
    expect(await historyPointCounts(ctx, [runId])).toEqual({ loss: 60_001, acc: 1 });
  });

  it("count every point once when writes, background folds and reads' folds run at once", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const runId = await newRun("rollup-concurrent");
    let seed = 11;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const batch = (b: number) => Array.from({ length: 200 }, (_, i) => ({ key: `k${i % 4}`, value: rand(), step: Math.floor(rand() * 100_000), timestamp: b * 1000 + i }));
    await Promise.all(Array.from({ length: 6 }, async (_, w) => {
      for (let b = 0; b < 8; b++) {
        await logBatch(ctx, { run_id: runId, metrics: batch(w * 100 + b), params: [], tags: [] });
        if (b % 3 === w % 3) await (w % 2 ? foldQueued(db()) : historyPointCounts(ctx, [runId]));
      }
    }));
    const maintained = await snapshot(runId);
    expect(maintained.filter((r) => r.level === 2).reduce((n, r) => n + r.n, 0)).toBe(6 * 8 * 200);
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
