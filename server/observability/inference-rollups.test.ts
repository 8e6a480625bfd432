// The gateway's per-minute rollups: the arithmetic (buckets, percentiles), what a flush stores (minutes, adding
// up across flushes and processes, versions), that nothing is lost when the database refuses a write, the
// series the metrics API draws from them, and the 30-day retention.
import { asc, eq } from "drizzle-orm";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { deployments, inferenceMinutes, registeredModels, teams } from "@/db/schema";
import { rollupSeries } from "../deployments/metrics-rollups";
import { demoDatabase } from "../testing/fixtures";
import { InferenceRollupPruneLoop } from "../workers/inference-rollups";
import { LATENCY_BUCKETS_MS, bucketIndex, flushInferenceRollups, pendingCells, pruneInferenceRollups, quantileFromBuckets, recordInference, resetInferenceRollups } from "./inference-rollups";

const db = demoDatabase();
let dep = { id: "", version: 0 };
let other = { id: "", version: 0 };
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0); // a minute's start
const MIN = 60_000;

const stored = (id: string) => db().select().from(inferenceMinutes).where(eq(inferenceMinutes.deploymentId, id)).orderBy(asc(inferenceMinutes.minute), asc(inferenceMinutes.version));
const clear = () => db().delete(inferenceMinutes);
const hist = (entries: Record<number, number>) => {
  const b = new Array<number>(LATENCY_BUCKETS_MS.length + 1).fill(0);
  for (const [i, n] of Object.entries(entries)) b[Number(i)] = n;
  return b;
};

beforeAll(async () => {
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  const now = Date.now();
  const [model] = await db().insert(registeredModels).values({ teamId: team!.id, name: `rollups-${now}`, creationTime: now, lastUpdatedTime: now }).returning({ id: registeredModels.id });
  const deployment = (version: number) => ({
    teamId: team!.id, modelId: model!.id, modelName: `rollups-${now}`, version, environment: "staging" as const, status: "ready" as const,
    replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: "ds@example.com",
  });
  const made = await db().insert(deployments).values([deployment(3), deployment(4)]).returning({ id: deployments.id, version: deployments.version });
  [dep, other] = [made[0]!, made[1]!];
});

beforeEach(async () => {
  resetInferenceRollups();
  await clear();
});

describe("latency buckets and percentiles", () => {
  it("puts an answer in the first bucket whose bound it does not exceed, and the slowest past the last", () => {
    expect(bucketIndex(0)).toBe(0);
    expect(bucketIndex(1)).toBe(0);
    expect(bucketIndex(1.01)).toBe(1);
    expect(bucketIndex(4)).toBe(3); // (3, 5]
    expect(bucketIndex(30_000)).toBe(LATENCY_BUCKETS_MS.length - 1);
    expect(bucketIndex(45_000)).toBe(LATENCY_BUCKETS_MS.length);
  });

  it("interpolates inside the bucket the rank falls in, as Prometheus's histogram_quantile does", () => {
    // 100 answers in (3, 5] ms: the median is halfway through it.
    expect(quantileFromBuckets(hist({ 3: 100 }), 0.5)).toBe(4);
    // 90 fast answers in (0, 1] and 10 slow ones in (200, 300]: p50 is fast, p95 halfway into the slow bucket, p99 near its top.
    const mixed = hist({ 0: 90, 14: 10 });
    expect(quantileFromBuckets(mixed, 0.5)).toBeCloseTo(50 / 90, 6);
    expect(quantileFromBuckets(mixed, 0.95)).toBe(250);
    expect(quantileFromBuckets(mixed, 0.99)).toBe(290);
    // Beyond the last bound: the last bound (a p99 of "at least 30 s"), never Infinity.
    expect(quantileFromBuckets(hist({ [LATENCY_BUCKETS_MS.length]: 5 }), 0.99)).toBe(30_000);
    expect(quantileFromBuckets(hist({}), 0.5)).toBeNull();
  });
});

describe("flushing", () => {
  it("stores one row per deployment, version and minute, split exactly at the minute's boundary", async () => {
    recordInference({ deploymentId: dep.id, status: 200, seconds: 0.004 }, T0 + MIN - 1);
    recordInference({ deploymentId: dep.id, status: 503, seconds: 0.002 }, T0 + MIN - 1);
    recordInference({ deploymentId: dep.id, status: 404, seconds: 0.0005 }, T0 + MIN);
    expect(await flushInferenceRollups(db())).toBe(2);
    const rows = await stored(dep.id);
    expect(rows.map((r) => ({ minute: r.minute.getTime(), version: r.version, requests: r.requests, e5: r.errors5xx, e4: r.errors4xx }))).toEqual([
      { minute: T0, version: dep.version, requests: 2, e5: 1, e4: 0 },
      { minute: T0 + MIN, version: dep.version, requests: 1, e5: 0, e4: 1 },
    ]);
    expect(rows[0]!.latencyMsSum).toBeCloseTo(6, 6);
    expect(rows[0]!.latencyBuckets).toEqual(hist({ 1: 1, 3: 1 }));
    expect(rows[1]!.latencyBuckets).toEqual(hist({ 0: 1 }));
    // Written cells are forgotten: a second flush writes nothing.
    expect(pendingCells(dep.id)).toEqual([]);
    expect(await flushInferenceRollups(db())).toBe(0);
  });

  it("adds two flushes of the same minute (as two processes would) rather than overwriting", async () => {
    for (let i = 0; i < 3; i++) recordInference({ deploymentId: dep.id, status: 200, seconds: 0.004 }, T0 + 1000 * i);
    await flushInferenceRollups(db());
    recordInference({ deploymentId: dep.id, status: 500, seconds: 0.25 }, T0 + 30_000);
    recordInference({ deploymentId: dep.id, status: 200, seconds: 0.004 }, T0 + 59_000);
    await flushInferenceRollups(db());
    const rows = await stored(dep.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ requests: 5, errors5xx: 1, errors4xx: 0 });
    expect(rows[0]!.latencyMsSum).toBeCloseTo(4 * 4 + 250, 6);
    expect(rows[0]!.latencyBuckets).toEqual(hist({ 3: 4, 14: 1 }));
  });

  it("keeps the version that answered apart, and adds the deployment's own version given or not", async () => {
    recordInference({ deploymentId: dep.id, status: 200, seconds: 0.001 }, T0);
    recordInference({ deploymentId: dep.id, version: dep.version, status: 200, seconds: 0.001 }, T0);
    recordInference({ deploymentId: dep.id, version: dep.version + 100, status: 200, seconds: 0.001 }, T0);
    await flushInferenceRollups(db());
    expect((await stored(dep.id)).map((r) => [r.version, r.requests])).toEqual([[dep.version, 2], [dep.version + 100, 1]]);
  });

  it("keeps the counts for the next flush when the database refuses the write", async () => {
    recordInference({ deploymentId: dep.id, status: 200, seconds: 0.002 }, T0);
    const down = { execute: () => Promise.reject(new Error("connection refused")) } as unknown as Db;
    await expect(flushInferenceRollups(down)).rejects.toThrow("connection refused");
    // Meanwhile another answer of the same minute arrives.
    recordInference({ deploymentId: dep.id, status: 200, seconds: 0.002 }, T0 + 5000);
    await flushInferenceRollups(db());
    expect((await stored(dep.id)).map((r) => r.requests)).toEqual([2]);
  });

  it("skips the minutes of a deployment deleted meanwhile and writes the others", async () => {
    recordInference({ deploymentId: "00000000-0000-4000-8000-000000000000", status: 200, seconds: 0.002 }, T0);
    recordInference({ deploymentId: other.id, status: 200, seconds: 0.002 }, T0);
    await flushInferenceRollups(db());
    expect((await stored(other.id)).map((r) => r.requests)).toEqual([1]);
    expect(await db().select().from(inferenceMinutes)).toHaveLength(1);
  });
});

describe("series from the rollups", () => {
  const query = (over: Partial<Parameters<typeof rollupSeries>[1]> = {}) => rollupSeries(db(), {
    deploymentId: dep.id, deploymentVersion: dep.version, start: T0 / 1000, end: T0 / 1000 + 240, step: 60, since: 0, now: T0 / 1000 + 1000, ...over,
  });

  it("draws rate, percentiles and error share per step, 0 requests where idle and null where nothing was there", async () => {
    // Minute 0: 60 answers, 6 of them 5xx, all in (3, 5] ms. Minute 2: 30 answers in (10, 15] ms. Nothing in minutes 1, 3, 4.
    for (let i = 0; i < 60; i++) recordInference({ deploymentId: dep.id, status: i < 6 ? 502 : 200, seconds: 0.004 }, T0 + i * 1000);
    for (let i = 0; i < 30; i++) recordInference({ deploymentId: dep.id, status: 200, seconds: 0.012 }, T0 + 2 * MIN + i * 1000);
    await flushInferenceRollups(db());
    const s = await query();
    const t = (i: number) => T0 / 1000 + 60 * i;
    expect(s.requests_per_second).toEqual([[t(0), 1], [t(1), 0], [t(2), 0.5], [t(3), 0], [t(4), 0]]);
    expect(s.error_rate).toEqual([[t(0), 0.1], [t(1), null], [t(2), 0], [t(3), null], [t(4), null]]);
    expect(s.latency_p50_ms).toEqual([[t(0), 4], [t(1), null], [t(2), 12.5], [t(3), null], [t(4), null]]);
    expect(s.latency_p99_ms[0]).toEqual([t(0), 4.98]);

    // Two minutes a step: minutes 0 and 1 sum up, a rate over 120 s.
    const wide = await query({ step: 120, end: T0 / 1000 + 240 });
    expect(wide.requests_per_second).toEqual([[t(0), 0.5], [t(2), 0.25], [t(4), 0]]);
    // Before the deployment existed: null, not 0.
    const late = await query({ since: T0 / 1000 + 150 });
    expect(late.requests_per_second.map(([, v]) => v)).toEqual([null, null, 0.5, 0, 0]);
    // One version only.
    expect((await query({ version: dep.version + 1 })).requests_per_second.map(([, v]) => v)).toEqual([0, 0, 0, 0, 0]);
  });

  it("adds this process's minutes not yet written, and rates the step in progress over the seconds gone", async () => {
    for (let i = 0; i < 10; i++) recordInference({ deploymentId: dep.id, status: 200, seconds: 0.004 }, T0 + 4 * MIN + i * 100);
    await flushInferenceRollups(db());
    for (let i = 0; i < 10; i++) recordInference({ deploymentId: dep.id, status: 200, seconds: 0.004 }, T0 + 4 * MIN + 2000 + i * 100);
    // "now" is 5 s into minute 4: 20 answers over 5 s.
    const s = await query({ now: T0 / 1000 + 245 });
    expect(s.requests_per_second.at(-1)).toEqual([T0 / 1000 + 240, 4]);
  });
});

describe("retention", () => {
  it("the worker deletes rollups older than 30 days and keeps the rest", async () => {
    const now = new Date(T0);
    for (const days of [31, 30.01, 29.9, 1]) recordInference({ deploymentId: dep.id, status: 200, seconds: 0.001 }, T0 - days * 86_400_000);
    await flushInferenceRollups(db());
    expect(await stored(dep.id)).toHaveLength(4);
    await new InferenceRollupPruneLoop(db(), 3_600_000, () => now).tick();
    const left = (await stored(dep.id)).map((r) => Math.round(((T0 - r.minute.getTime()) / 86_400_000) * 10) / 10);
    expect(left).toEqual([29.9, 1]);
    // A second pass finds nothing more to delete.
    expect(await pruneInferenceRollups(db(), now)).toBe(0);
  });
});
