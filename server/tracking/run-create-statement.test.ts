// runs/create writes a batch in one statement (run-create-batch.ts, migration 0039): its audit events chained
// onto the head this process last wrote, checked under the chain lock; each run's experiment taken from memory
// (experiment-refs.ts) and checked again by the write. These tests change the chain and the experiments behind
// the process's back and check that every acknowledged run is there, audited once, counted once.
import { and, eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { openDatabase } from "@/db/client";
import { auditEvents, experiments, runs } from "@/db/schema";
import { flushDenials } from "../audit/denials";
import { recordAudit } from "../audit/record";
import { verifyAudit } from "../audit/service";
import type { Run } from "../mlflow/test-client";
import { createExperiment, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { rememberedExperiment } from "./experiment-refs";
import { hydrateRuns } from "./hydrate";
import { setExperimentLifecycle } from "./experiments";
import { createRun } from "./runs";

const db = demoDatabase();

/** Experiments whose kept run counts differ from a recount of their runs. */
async function countMismatches(ids: number[]): Promise<unknown[]> {
  const result = await db().execute(sql`
    select e.id, s.active_runs::float8 as kept, (select count(*) from runs r where r.experiment_id = e.id and r.lifecycle_stage = 'active')::float8 as counted
    from experiments e left join experiment_run_stats s on s.experiment_id = e.id
    where e.id in (${sql.join(ids.map((id) => sql`${id}`), sql`, `)})
      and coalesce(s.active_runs, 0) <> (select count(*) from runs r where r.experiment_id = e.id and r.lifecycle_stage = 'active')`);
  return (result as unknown as { rows: unknown[] }).rows;
}

async function runCount(experimentId: number): Promise<number> {
  return (await db().select({ id: runs.id }).from(runs).where(eq(runs.experimentId, experimentId))).length;
}

async function auditedOnce(ids: string[]): Promise<boolean> {
  const rows = await db().select({ target: auditEvents.target }).from(auditEvents).where(inArray(auditEvents.target, ids.map((id) => `run:${id}`)));
  return rows.length === ids.length && new Set(rows.map((r) => r.target)).size === ids.length;
}

/**
 * Runs `fn` with a second connection pool to the test database, as another Cairn process would hold; on PGlite
 * (one process's database: there is no second process to race with) it does not run.
 */
async function withSecondProcess(fn: (second: Db) => Promise<void>): Promise<void> {
  const { url } = await (globalThis as unknown as { __cairnDb: { promise: Promise<{ url?: string }> } }).__cairnDb.promise;
  if (!url) return;
  const second = await openDatabase({ url });
  try {
    await fn(second.db as Db);
  } finally {
    await second.close();
  }
}

describe("runs/create in one statement", () => {
  it("answers the DTO a read of the run gives", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `dto-${Date.now()}`);
    const created = await post<{ run: Run }>(token, "runs/create", {
      experiment_id: exp, run_name: "dto", start_time: 1_800_000_000_000, tags: [{ key: "b", value: "2" }, { key: "a", value: "1" }, { key: "mlflow.source.name", value: "train.py" }],
    });
    expect(created.status).toBe(200);
    const [read] = await hydrateRuns(db(), [created.json.run.info.run_id]);
    expect(created.json.run).toEqual(read);
    expect(created.json.run.data.tags.map((t) => t.key)).toEqual(["a", "b", "mlflow.runName", "mlflow.source.name", "mlflow.user"]);
  });

  it("chains onto the events other writers appended between its batches, and the chain verifies", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = await createExperiment(token, `chain-${Date.now()}`);
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      // Another writer extends the chain: the next create's expected head is stale and it writes again under the lock.
      await recordAudit(ctx, { action: "test.interleave", target: `test:${i}`, teamId: null });
      const answers = await Promise.all([0, 1, 2].map(() => post<{ run: Run }>(token, "runs/create", { experiment_id: exp })));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      ids.push(...answers.map((a) => a.json.run.info.run_id));
    }
    expect(await runCount(Number(exp))).toBe(12);
    expect(await auditedOnce(ids)).toBe(true);
    expect(await verifyAudit(await ctxFor(db(), DEMO.admin))).toMatchObject({ ok: true });
  });

  it("keeps counts exact and the chain whole when two processes create in the same experiments at once (PostgreSQL)", async () => {
    await withSecondProcess(async (second) => {
      const token = await tokenFor(db(), DEMO.ds, "churn");
      const exps = [Number(await createExperiment(token, `race-a-${Date.now()}`)), Number(await createExperiment(token, `race-b-${Date.now()}`))];
      const contexts = [await ctxFor(db(), DEMO.ds), await ctxFor(second, DEMO.ds)];
      const created = await Promise.all(Array.from({ length: 60 }, (_, i) =>
        createRun(contexts[i % 2]!, { experiment_id: String(exps[Math.floor(i / 2) % 2]), run_name: `r${i}`, tags: [] })));
      const ids = created.map((r) => r.info.run_id);
      expect(new Set(ids).size).toBe(60);
      expect(await runCount(exps[0]!)).toBe(30);
      expect(await runCount(exps[1]!)).toBe(30);
      expect(await countMismatches(exps)).toEqual([]);
      expect(await auditedOnce(ids)).toBe(true);
      expect(await verifyAudit(await ctxFor(db(), DEMO.admin))).toMatchObject({ ok: true });
    });
  });

  it("never leaves an acknowledged run active in an experiment deleted at the same moment (PostgreSQL)", async () => {
    await withSecondProcess(async (second) => {
      const token = await tokenFor(db(), DEMO.ds, "churn");
      const creator = await ctxFor(db(), DEMO.ds);
      const deleter = await ctxFor(second, DEMO.mle);
      const stranded: unknown[] = [];
      for (let i = 0; i < 25; i++) {
        // An experiment with no run yet: its delete's runs update locks nothing a create would wait on.
        const exp = await createExperiment(token, `race-del-${Date.now()}-${i}`);
        const [created] = await Promise.allSettled([
          createRun(creator, { experiment_id: exp, run_name: "racer", tags: [] }),
          setExperimentLifecycle(deleter, exp, "deleted"),
        ]);
        if (created.status !== "fulfilled") continue;
        const [row] = await db().select({ run: runs.lifecycleStage, exp: experiments.lifecycleStage }).from(runs)
          .innerJoin(experiments, eq(experiments.id, runs.experimentId)).where(eq(runs.id, created.value.info.run_id));
        if (row!.exp === "deleted" && row!.run === "active") stranded.push({ i, ...row });
      }
      expect(stranded).toEqual([]);
    });
  });

  it("keeps counts exact through concurrent creates, deletes and restores of runs in one experiment", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `busy-${Date.now()}`);
    const first = await Promise.all(Array.from({ length: 20 }, () => post<{ run: Run }>(token, "runs/create", { experiment_id: exp })));
    const firstIds = first.map((a) => a.json.run.info.run_id);
    const mixed = await Promise.all([
      ...Array.from({ length: 30 }, () => post(token, "runs/create", { experiment_id: exp })),
      ...firstIds.slice(0, 10).map((run_id) => post(token, "runs/delete", { run_id })),
    ]);
    expect(mixed.map((a) => a.status)).toEqual(Array(40).fill(200));
    expect(await countMismatches([Number(exp)])).toEqual([]);
    const [stats] = (await db().execute(sql`select active_runs::int as active, deleted_runs::int as deleted from experiment_run_stats where experiment_id = ${Number(exp)}`) as unknown as { rows: { active: number; deleted: number }[] }).rows;
    expect(stats).toEqual({ active: 40, deleted: 10 });
  });

  it("refuses a foreign team's create in an experiment it remembers, writing nothing and auditing the refusal", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `foreign-${Date.now()}`);
    expect((await post(token, "runs/create", { experiment_id: exp })).status).toBe(200);
    expect(rememberedExperiment(Number(exp))).toBeDefined();
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const refused = await post(fraud, "runs/create", { experiment_id: exp, run_name: "intruder" });
    expect(refused.status).toBe(404);
    expect(await runCount(Number(exp))).toBe(1);
    await flushDenials(db());
    const denials = await db().select({ outcome: auditEvents.outcome, action: auditEvents.action }).from(auditEvents)
      .where(and(eq(auditEvents.target, `experiment:${exp}`), eq(auditEvents.outcome, "denied")));
    expect(denials).toEqual([{ outcome: "denied", action: "run.create" }]);
  });

  it("answers as a fresh read would when the remembered experiment was archived or deleted by another process", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = Number(await createExperiment(token, `stale-${Date.now()}`));
    expect((await post(token, "runs/create", { experiment_id: String(exp) })).status).toBe(200);
    expect(rememberedExperiment(exp)?.lifecycleStage).toBe("active");
    // Archived behind this process's back (by SQL, as another instance would): refused as archived, nothing written.
    await db().update(experiments).set({ lifecycleStage: "deleted" }).where(eq(experiments.id, exp));
    const archived = await post<{ message: string }>(token, "runs/create", { experiment_id: String(exp) });
    expect(archived.status).toBe(400);
    expect(archived.json.message).toMatch(/must be in the 'active' state/);
    expect(await runCount(exp)).toBe(1);
    await db().update(experiments).set({ lifecycleStage: "active" }).where(eq(experiments.id, exp));
    expect((await post(token, "runs/create", { experiment_id: String(exp) })).status).toBe(200);
    expect(await runCount(exp)).toBe(2);
    // Deleted for good: not found, as for any unknown experiment.
    await db().delete(experiments).where(eq(experiments.id, exp));
    expect((await post(token, "runs/create", { experiment_id: String(exp) })).status).toBe(404);
    expect(await verifyAudit(await ctxFor(db(), DEMO.admin))).toMatchObject({ ok: true });
  });
});
