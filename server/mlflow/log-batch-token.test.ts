// The one-statement path of a metric-only log-batch with an API token (tracking/metric-write.ts): the
// token, membership and run checks hold in the writing statement, a refusal writes nothing and answers as
// the general path does, and the stored history, rollups, latest values and key list are those the
// general path stores.
import { and, asc, eq, sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { apiTokens, experimentKeys, memberships, metricRollups, runs, teams, users } from "@/db/schema";
import { auditEvents } from "@/db/schema";
import { metricWriteGroupStats, writeMetricPointsByToken } from "../tracking/metric-write";
import { tokenLookupHash } from "../auth/token-actor";
import { foldQueuedRuns, rebuildRollups } from "../tracking/rollups";
import { DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import type { ErrorBody, Metric } from "./test-client";
import { createExperiment, createRun, get, getRun, post } from "./test-client";
import { flushDenials } from "../audit/denials";

const db = demoDatabase();
let token = "";
let exp = "";

beforeAll(async () => {
  token = await tokenFor(db(), DEMO.mle, "churn");
  exp = await createExperiment(token, `token-batches-${Date.now()}`);
});

const batch = (runId: string, points: { key: string; value: number; step: number; timestamp: number }[]) => ({ run_id: runId, metrics: points });
const history = async (runId: string, key: string) =>
  (await get<{ metrics: Metric[] }>(token, "metrics/get-history", { run_id: runId, metric_key: key, max_results: 25000 })).json.metrics;

/** Rollup rows that differ from a rebuild's (none when every written point was queued once and folded once). */
async function counts(runId: string) {
  const maintained = await rollups(runId);
  await rebuildRollups(db(), [runId]);
  const rebuilt = await rollups(runId);
  return rebuilt.filter((r, i) => JSON.stringify(r) !== JSON.stringify(maintained[i])).concat(maintained.slice(rebuilt.length));
}

/** The run's rollups once its queued points are folded (as every reader of them folds first). */
async function rollups(runId: string) {
  const [run] = await db().select({ experimentId: runs.experimentId }).from(runs).where(eq(runs.id, runId));
  await foldQueuedRuns(db(), [{ experimentId: run!.experimentId, runId }]);
  return db().select().from(metricRollups).where(eq(metricRollups.runId, runId)).orderBy(asc(metricRollups.key), asc(metricRollups.level), asc(metricRollups.bucket));
}

describe("metric-only log-batch with a token", () => {
  it("stores history, latest values, rollups and keys as a rebuild computes them, retries and overlaps included", async () => {
    const runId = (await createRun(token, exp)).run_id;
    const points = Array.from({ length: 90 }, (_, i) => ({ key: i % 2 ? "loss" : "acc", value: Math.sin(i), step: i * 7, timestamp: 1_000 + i }));
    expect((await post(token, "runs/log-batch", batch(runId, points.slice(0, 40)))).status).toBe(200);
    // A retry of the same batch, a batch overlapping it, one point twice in a batch, and a NaN.
    expect((await post(token, "runs/log-batch", batch(runId, points.slice(0, 40)))).status).toBe(200);
    expect((await post(token, "runs/log-batch", batch(runId, points.slice(30, 70)))).status).toBe(200);
    expect((await post(token, "runs/log-batch", batch(runId, [...points.slice(70), points[89]!]))).status).toBe(200);
    expect((await post(token, "runs/log-batch", '{"run_id":"' + runId + '","metrics":[{"key":"loss","value":NaN,"step":3,"timestamp":5}]}')).status).toBe(200);

    expect((await history(runId, "acc")).map((m) => m.step)).toEqual(points.filter((p) => p.key === "acc").map((p) => p.step));
    expect(await history(runId, "loss")).toHaveLength(46);
    const run = await getRun(token, runId);
    expect(run.data.metrics.find((m) => m.key === "loss")).toMatchObject({ step: 89 * 7, value: Math.sin(89) });

    const maintained = await rollups(runId);
    expect(maintained.find((r) => r.key === "acc" && r.level === 2)?.n).toBe(45);
    await rebuildRollups(db(), [runId]);
    expect(await rollups(runId)).toEqual(maintained);

    const keys = await db().select({ key: experimentKeys.key }).from(experimentKeys).where(and(eq(experimentKeys.experimentId, Number(exp)), eq(experimentKeys.kind, "metric")));
    expect(keys.map((k) => k.key).sort()).toEqual(["acc", "loss"]);
  });

  it("stores keys that an array literal must quote, and non-finite values, as sent", async () => {
    const runId = (await createRun(token, exp)).run_id;
    const keys = ["a b", "NULL", " sp ", "x/y.z-1_2", "null", "1e5", "inf"];
    const points = keys.flatMap((key, k) => [0, 1].map((s) => ({ key, value: k + s / 2, step: s, timestamp: 10 + s })));
    const body = JSON.stringify(batch(runId, points)).replace(/"value":6\.5/, '"value":Infinity').replace(/"value":6,/, '"value":NaN,');
    const res = await post<ErrorBody>(token, "runs/log-batch", body);
    expect(res.json).toEqual({});
    for (const [k, key] of keys.entries()) {
      const expected = k === 6 ? ["NaN", "Infinity"] : [k, k + 0.5];
      expect((await history(runId, key)).map((m) => m.value)).toEqual(expected);
    }
    const run = await getRun(token, runId);
    expect(Object.fromEntries(run.data.metrics.map((m) => [m.key, m.value]))).toEqual(Object.fromEntries(keys.map((key, k) => [key, k === 6 ? "Infinity" : k + 0.5])));
    const maintained = await rollups(runId);
    expect(new Set(maintained.map((r) => r.key))).toEqual(new Set(keys.slice(0, 6)));
    await rebuildRollups(db(), [runId]);
    expect(await rollups(runId)).toEqual(maintained);
  });

  it("refuses another team's run, writes nothing and audits the denial", async () => {
    const fraud = await tokenFor(db(), DEMO.leadFraud, "fraud");
    const runId = (await createRun(token, exp)).run_id;
    const res = await post<ErrorBody>(fraud, "runs/log-batch", batch(runId, [{ key: "auc", value: 0.1, step: 1, timestamp: 1 }]));
    expect(res.status).toBe(404);
    expect(res.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect(await history(runId, "auc")).toEqual([]);
    await flushDenials(db());
    const denied = await db().select().from(auditEvents).where(and(eq(auditEvents.target, `run:${runId}`), eq(auditEvents.outcome, "denied")));
    expect(denied).toHaveLength(1);
  });

  it("answers each of many concurrent batches on its own when they are written together", async () => {
    const fraud = await tokenFor(db(), DEMO.leadFraud, "fraud");
    const runIds = await Promise.all(Array.from({ length: 6 }, async () => (await createRun(token, exp)).run_id));
    const deleted = (await createRun(token, exp)).run_id;
    expect((await post(token, "runs/delete", { run_id: deleted })).status).toBe(200);
    const before = metricWriteGroupStats();
    const points = (w: number, i: number) => Array.from({ length: 5 }, (_, j) => ({ key: `k${j}`, value: w * 100 + i + j / 10, step: i, timestamp: w * 1000 + i }));
    // Six writers (two into the same run), a foreign team's token and a deleted run, sent at once, twelve rounds.
    const answers: number[][] = Array.from({ length: 7 }, () => []);
    for (let i = 0; i < 12; i++) {
      // Sent in this order, so the two into run 0 come after the statements in flight, among those that wait together.
      const order = [6, 1, 2, 3, 4, 0, 5];
      const round = await Promise.all(order.map((w) => w === 6
        ? (i % 2 ? post(fraud, "runs/log-batch", batch(runIds[1]!, points(9, 100 + i))) : post(token, "runs/log-batch", batch(deleted, points(9, i))))
        : post(token, "runs/log-batch", batch(runIds[w === 5 ? 0 : w]!, points(w, i)))));
      round.forEach((r, k) => answers[order[k]!]!.push(r.status));
    }
    expect(answers.slice(0, 6).flat().every((s) => s === 200)).toBe(true);
    // They did go together (fewer statements than requests), and no group needed its requests retried one by one.
    const after = metricWriteGroupStats();
    expect(after.requests - before.requests).toBeGreaterThan(after.statements - before.statements);
    expect(after.retried).toBe(before.retried);
    expect(answers[6]).toEqual(Array.from({ length: 12 }, (_, i) => (i % 2 ? 404 : 400)));
    for (const [w, runId] of runIds.entries()) {
      if (w === 5) continue;
      const writers = w === 0 ? [0, 5] : [w];
      const steps = (await history(runId, "k3")).map((m) => `${m.step}:${m.value}`).sort();
      expect(steps).toEqual(writers.flatMap((v) => Array.from({ length: 12 }, (_, i) => `${i}:${v * 100 + i + 0.3}`)).sort());
      // The latest value per key is the highest step's (ties: the later timestamp, writer 5's in run 0).
      const run = await getRun(token, runId);
      expect(run.data.metrics.find((m) => m.key === "k3")).toMatchObject({ step: 11, value: (w === 0 ? 5 : w) * 100 + 11 + 0.3 });
      expect(await counts(runId)).toEqual([]);
    }
    expect(await history(deleted, "k0")).toEqual([]);
  });

  it.skipIf(process.env.CAIRN_TEST_DB === "pglite")("keeps answering other runs' batches while runs' rows are locked, and writes the locked ones after", async () => {
    const lockedRuns = await Promise.all([0, 1, 2].map(async () => (await createRun(token, exp)).run_id));
    const victim = (await createRun(token, exp)).run_id;
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => (locked = r));
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // A transaction holding the three runs' rows (as a slow log-model append once did), for as long as the test wants.
    const locker = db().transaction(async (tx) => {
      await tx.execute(sql`select 1 from runs where id in (${sql.join(lockedRuns.map((id) => sql`${id}`), sql`, `)}) for update`);
      locked();
      await held;
    });
    await isLocked;
    try {
      // One batch into each locked run, one after the other: each takes a statement slot, and all of them wait.
      const blocked = [];
      for (const [i, runId] of lockedRuns.entries()) {
        blocked.push(post(token, "runs/log-batch", batch(runId, [{ key: "x", value: i, step: i, timestamp: i }])));
        await new Promise((r) => setTimeout(r, 50));
      }
      // Another run's batch is answered while the locks are still held (the waiting statements give their slots up).
      const answered = await Promise.race([
        post(token, "runs/log-batch", batch(victim, [{ key: "y", value: 1, step: 1, timestamp: 1 }])).then((r) => r.status),
        new Promise<string>((r) => setTimeout(() => r("still waiting after 15 s"), 15_000)),
      ]);
      expect(answered).toBe(200);
      release();
      await locker;
      // The locked runs' batches were not lost: written once the locks went.
      expect((await Promise.all(blocked)).map((r) => r.status)).toEqual([200, 200, 200]);
      for (const [i, runId] of lockedRuns.entries()) expect((await history(runId, "x")).map((m) => m.value)).toEqual([i]);
    } finally {
      release();
      await locker;
    }
  });

  it("sends batches past the queue's bound for one run straight to the general path", async () => {
    const runId = (await createRun(token, exp)).run_id;
    const hash = tokenLookupHash(token)!;
    // Eight at once into one run: one statement in flight, two waiting, five answered null at once (the handler
    // then writes them the general way, which verifies the token first).
    const writes = await Promise.all(Array.from({ length: 8 }, (_, i) => writeMetricPointsByToken(db(), hash, runId, [{ key: "q", value: i, step: i, timestamp: i }])));
    expect(writes.map((w) => w !== null)).toEqual([true, true, true, false, false, false, false, false]);
    expect((await history(runId, "q")).map((m) => m.value)).toEqual([0, 1, 2]);
    // Through the API every one is written.
    const statuses = await Promise.all(Array.from({ length: 8 }, (_, i) => post(token, "runs/log-batch", batch(runId, [{ key: "q", value: 10 + i, step: 10 + i, timestamp: i }])).then((r) => r.status)));
    expect(statuses).toEqual(Array(8).fill(200));
    expect(await history(runId, "q")).toHaveLength(11);
  });

  it("refuses a deleted run", async () => {
    const runId = (await createRun(token, exp)).run_id;
    expect((await post(token, "runs/delete", { run_id: runId })).status).toBe(200);
    const res = await post<ErrorBody>(token, "runs/log-batch", batch(runId, [{ key: "auc", value: 0.1, step: 1, timestamp: 1 }]));
    expect(res.status).toBe(400);
    expect(res.json.error_code).toBe("INVALID_PARAMETER_VALUE");
  });

  it("stops at once for a revoked token and for a member removed from the token's team", async () => {
    const runId = (await createRun(token, exp)).run_id;
    const write = (t: string, step: number) => post<ErrorBody>(t, "runs/log-batch", batch(runId, [{ key: "auc", value: 0.5, step, timestamp: step }]));

    const revoked = await tokenFor(db(), DEMO.mle, "churn");
    expect((await write(revoked, 1)).status).toBe(200);
    await db().update(apiTokens).set({ revokedAt: new Date() }).where(sql`${apiTokens.createdAt} = (select max(created_at) from api_tokens)`);
    expect((await write(revoked, 2)).status).toBe(401);

    const lead = await tokenFor(db(), DEMO.lead, "churn");
    expect((await write(lead, 3)).status).toBe(200);
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const [user] = await db().select({ id: users.id }).from(users).where(eq(users.email, DEMO.lead));
    const [was] = await db().delete(memberships).where(and(eq(memberships.userId, user!.id), eq(memberships.teamId, churn!.id))).returning();
    try {
      expect((await write(lead, 4)).status).toBe(401);
    } finally {
      await db().insert(memberships).values(was!);
    }
    expect((await history(runId, "auc")).map((m) => m.step)).toEqual([1, 3]);
  });
});
