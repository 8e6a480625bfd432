// The API's per-minute rollups and the minute samples of the queue and active users: endpoint templating (no id
// reaches a row), what a flush stores (adding up across flushes), nothing lost when the database refuses a
// write, the Platform page's arithmetic over them (rates, percentiles, error share, the endpoint table), and the
// 30-day retention.
import { asc } from "drizzle-orm";
import { beforeEach, describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { apiRequestMinutes, platformMinutes } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { submitJob } from "../jobs/service";
import { apiFromRollups, queueAndUsersFromRollups } from "../platform/health-rollups";
import { DEMO, ctxFor, demoDatabase } from "../testing/fixtures";
import { createExperiment } from "../tracking/experiments";
import { PlatformRollupLoop } from "../workers/platform-rollups";
import { endpointTemplate, flushApiRollups, pendingApiCells, prunePlatformRollups, recordApiRequest, resetApiRollups, statusClass } from "./api-rollups";
import { LATENCY_BUCKETS_MS, bucketIndex } from "./inference-rollups";
import { samplePlatform } from "./platform-samples";

const db = demoDatabase();
const T0 = Date.UTC(2026, 11, 1, 12, 0, 0); // a minute's start
const MIN = 60_000;
const stored = () => db().select().from(apiRequestMinutes).orderBy(asc(apiRequestMinutes.minute), asc(apiRequestMinutes.endpoint), asc(apiRequestMinutes.method), asc(apiRequestMinutes.statusClass));

beforeEach(async () => {
  resetApiRollups();
  await db().delete(apiRequestMinutes);
  await db().delete(platformMinutes);
});

describe("endpoint templates", () => {
  it("keeps route patterns and replaces every segment that names one object", () => {
    expect(endpointTemplate("/api/v1/teams/[slug]")).toBe("/api/v1/teams/[slug]");
    expect(endpointTemplate("/api/2.0/mlflow/runs/get")).toBe("/api/2.0/mlflow/runs/get");
    expect(endpointTemplate("/api/v1/jobs/3f2b6c1e-9a4d-4e2b-8c1f-0a1b2c3d4e5f/logs")).toBe("/api/v1/jobs/[id]/logs");
    expect(endpointTemplate("/api/v1/runs/0123456789abcdef0123456789abcdef")).toBe("/api/v1/runs/[id]");
    expect(endpointTemplate("/api/v1/models/churn/versions/12?x=1")).toBe("/api/v1/models/churn/versions/[id]");
    expect(endpointTemplate("/api/2.0/mlflow/logged-models/m-0123456789abcdef0123456789abcdef")).toBe("/api/2.0/mlflow/logged-models/[id]");
  });

  it("stores no raw id even when a caller passes a raw path", async () => {
    const id = "3f2b6c1e-9a4d-4e2b-8c1f-0a1b2c3d4e5f";
    recordApiRequest({ endpoint: `/api/v1/jobs/${id}`, method: "get", status: 200, seconds: 0.01 }, T0);
    recordApiRequest({ endpoint: "/api/v1/jobs/[id]", method: "GET", status: 200, seconds: 0.01 }, T0);
    await flushApiRollups(db());
    const rows = await stored();
    expect(rows.map((r) => [r.endpoint, r.method, r.requests])).toEqual([["/api/v1/jobs/[id]", "GET", 2]]);
    expect(JSON.stringify(rows)).not.toContain(id);
  });

  it("sorts statuses into classes", () => {
    expect([200, 204, 304, 400, 404, 499, 500, 503].map(statusClass)).toEqual(["2xx", "2xx", "3xx", "4xx", "4xx", "4xx", "5xx", "5xx"]);
  });
});

describe("flushing", () => {
  it("stores one row per minute, endpoint, method and status class, with errors and latency buckets", async () => {
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 + 1_000);
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 + 59_000);
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 503, seconds: 0.2 }, T0 + 2_000);
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 + MIN);
    expect(await flushApiRollups(db())).toBe(3);
    const rows = await stored();
    expect(rows.map((r) => [r.minute.getTime(), r.statusClass, r.requests, r.errors])).toEqual([[T0, "2xx", 2, 0], [T0, "5xx", 1, 1], [T0 + MIN, "2xx", 1, 0]]);
    expect(rows[0]!.latencyMsSum).toBeCloseTo(8, 6);
    expect(rows[0]!.latencyBuckets[bucketIndex(4)]).toBe(2);
    expect(rows[1]!.latencyBuckets[bucketIndex(200)]).toBe(1);
    expect(rows[0]!.latencyBuckets).toHaveLength(LATENCY_BUCKETS_MS.length + 1);
    expect(pendingApiCells()).toEqual([]);
  });

  it("adds a second flush of the same minute to the stored row, bucket by bucket", async () => {
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0);
    await flushApiRollups(db());
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 + 10_000);
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.09 }, T0 + 20_000);
    await flushApiRollups(db());
    const [row] = await stored();
    expect(row!.requests).toBe(3);
    expect(row!.latencyBuckets[bucketIndex(4)]).toBe(2);
    expect(row!.latencyBuckets[bucketIndex(90)]).toBe(1);
    expect(row!.latencyBuckets.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it("keeps the counts for the next flush when the database refuses the write", async () => {
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0);
    const down = { execute: () => Promise.reject(new Error("connection refused")) } as unknown as Db;
    await expect(flushApiRollups(down)).rejects.toThrow("connection refused");
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 + 5_000);
    await flushApiRollups(db());
    expect((await stored()).map((r) => r.requests)).toEqual([2]);
  });

  it("deletes API and platform rollups older than 30 days and keeps the rest", async () => {
    const now = new Date(T0);
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 - 31 * 86_400_000);
    recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 - 29 * 86_400_000);
    await flushApiRollups(db());
    await samplePlatform(db(), new Date(T0 - 31 * 86_400_000));
    await samplePlatform(db(), new Date(T0 - MIN));
    expect(await prunePlatformRollups(db(), now)).toBe(2);
    expect((await stored()).map((r) => r.minute.getTime())).toEqual([T0 - 29 * 86_400_000]);
    expect((await db().select().from(platformMinutes)).map((r) => r.minute.getTime())).toEqual([T0 - MIN]);
  });
});

describe("the Platform page's arithmetic", () => {
  it("answers rate, percentiles and error share per step, and the busiest endpoints, stored and pending minutes alike", async () => {
    // Minute T0: 90 fast GETs of /me (4 ms) and 10 slow ones (250 ms); minute T0+1: 10 POSTs of jobs, 5 of them 5xx.
    for (let i = 0; i < 90; i++) recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.004 }, T0 + i * 100);
    for (let i = 0; i < 10; i++) recordApiRequest({ endpoint: "/api/v1/me", method: "GET", status: 200, seconds: 0.25 }, T0 + 30_000 + i);
    await flushApiRollups(db());
    for (let i = 0; i < 10; i++) recordApiRequest({ endpoint: "/api/v1/experiments/[id]/jobs", method: "POST", status: i < 5 ? 500 : 201, seconds: 0.04 }, T0 + MIN + i);
    recordApiRequest({ endpoint: "/api/v1/experiments/[id]/jobs", method: "POST", status: 400, seconds: 0.001 }, T0 + MIN + 20);
    // Not flushed: the second minute comes from this process's pending cells.
    const start = T0 / 1000;
    const api = await apiFromRollups(db(), { start, end: start + 120, step: 60, now: start + 180 });
    expect(api.series.requests_per_second).toEqual([[start, Math.round((100 / 60) * 1000) / 1000], [start + 60, Math.round((11 / 60) * 1000) / 1000], [start + 120, 0]]);
    expect(api.series.error_rate).toEqual([[start, 0], [start + 60, Math.round((5 / 11) * 10_000) / 10_000], [start + 120, null]]);
    // p50 of the first minute lies in (3, 5] ms: rank 50 of 90 there → 3 + 2·50/90; p95 halfway into (200, 300].
    expect(api.series.latency_p50_ms[0]![1]).toBeCloseTo(3 + (2 * 50) / 90, 2);
    expect(api.series.latency_p95_ms[0]![1]).toBe(250);
    expect(api.series.latency_p50_ms[2]![1]).toBeNull();
    expect(api).toMatchObject({ requests: 111, errors: 5, error_rate: Math.round((5 / 111) * 10_000) / 10_000 });
    expect(api.endpoints.map((e) => [e.endpoint, e.method, e.requests, e.errors, e.client_errors])).toEqual([
      ["/api/v1/me", "GET", 100, 0, 0],
      ["/api/v1/experiments/[id]/jobs", "POST", 11, 5, 1],
    ]);
    expect(api.endpoints[1]!.error_rate).toBe(Math.round((5 / 11) * 10_000) / 10_000);
    expect(api.endpoints[1]!.latency_p50_ms).toBeGreaterThan(30);
    expect(api.endpoints[1]!.latency_p50_ms).toBeLessThanOrEqual(50);
  });

  it("samples the queue and active users each minute, and charts the highest sample of each step", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const { experiment_id: exp } = await createExperiment(ctx, { name: `platform-queue-${Date.now()}`, team: "churn" });
    await submitJob(ctx, exp, trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small" }));
    const now = new Date();
    const minute = Math.floor(now.getTime() / MIN) * MIN;
    const loop = new PlatformRollupLoop(db(), 60_000, () => now);
    await loop.tick();
    const [row] = await db().select().from(platformMinutes);
    expect(row!.minute.getTime()).toBe(minute);
    expect(row!.queueDepth).toBeGreaterThanOrEqual(1);
    expect(row!.queueOldestWaitSeconds).toBeGreaterThanOrEqual(0);
    expect(row!.activeUsers).toBeGreaterThanOrEqual(0);
    expect(row!.activeUsersHour).toBeGreaterThanOrEqual(row!.activeUsers);
    // A second sample of the same minute replaces the first; an earlier minute adds a point.
    const again = await samplePlatform(db(), new Date(minute + 30_000));
    await db().insert(platformMinutes).values({ minute: new Date(minute - 2 * MIN), queueDepth: 7, queueOldestWaitSeconds: 120, runningJobs: 0, activeUsers: 3, activeUsersHour: 4 });
    expect(await db().select().from(platformMinutes)).toHaveLength(2);
    const start = minute / 1000 - 180;
    const { queue, users } = await queueAndUsersFromRollups(db(), { start, end: minute / 1000, step: 60 });
    expect(queue.depth.map(([, v]) => v)).toEqual([null, 7, null, again.queueDepth]);
    expect(queue.oldest_wait_seconds[1]).toEqual([start + 60, 120]);
    expect(users.map(([, v]) => v)).toEqual([null, 3, null, again.activeUsers]);
  });
});
