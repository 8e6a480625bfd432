// runs/create from concurrent requests commits in shared transactions (run-create-batch.ts): every
// acknowledged run is there with its tags and exactly one audit event, the chain still verifies, and a run
// that cannot be written fails only its own request.
import { eq, inArray, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, experimentKeys, experiments, runTags, runs } from "@/db/schema";
import { verifyAudit } from "../audit/service";
import type { Run } from "../mlflow/test-client";
import { createExperiment, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { createRunBatched, flushed } from "./run-create-batch";
import { newRunId } from "./runs";
import { analyzing, setAnalyzeThreshold } from "./statistics";

const db = demoDatabase();

describe("runs/create under concurrency", () => {
  it("answers 40 concurrent creates with 40 runs, each with its tags and one audit event, and a chain that verifies", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `batched-${Date.now()}`);
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      post<{ run: Run }>(token, "runs/create", { experiment_id: exp, run_name: `r${i}`, tags: [{ key: "i", value: String(i) }] })));
    expect(answers.map((a) => a.status)).toEqual(Array(40).fill(200));
    const ids = answers.map((a) => a.json.run.info.run_id);
    expect(new Set(ids).size).toBe(40);
    // Each answer is its own run's DTO.
    answers.forEach((a, i) => {
      expect(a.json.run.info).toMatchObject({ run_name: `r${i}`, experiment_id: exp, status: "RUNNING", lifecycle_stage: "active" });
      expect(a.json.run.data.tags).toEqual(expect.arrayContaining([{ key: "i", value: String(i) }, { key: "mlflow.runName", value: `r${i}` }]));
    });
    expect(await db().select({ id: runs.id }).from(runs).where(inArray(runs.id, ids))).toHaveLength(40);
    expect(await db().select({ runId: runTags.runId }).from(runTags).where(eq(runTags.key, "i"))).toHaveLength(40);
    const audited = await db().select({ target: auditEvents.target }).from(auditEvents).where(inArray(auditEvents.target, ids.map((id) => `run:${id}`)));
    expect(audited.map((a) => a.target).sort()).toEqual(ids.map((id) => `run:${id}`).sort());
    const verified = await verifyAudit(await ctxFor(db(), DEMO.admin));
    expect(verified).toMatchObject({ ok: true });
  });

  it("fails only the run that cannot be written when it shares a batch with others", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = Number(await createExperiment(token, `batched-bad-${Date.now()}`));
    const [{ teamId }] = (await db().select({ teamId: experiments.teamId }).from(experiments).where(eq(experiments.id, exp))) as [{ teamId: string }];
    const pending = (experimentId: number) => {
      const id = newRunId();
      return {
        ctx, tags: [["mlflow.runName", id]] as [string, string][], audit: { action: "run.create", target: `run:${id}`, details: { test: true } },
        row: { id, experimentId, teamId, name: id, status: "RUNNING" as const, startTime: Date.now(), userId: DEMO.ds, createdBy: ctx.actor.userId, artifactUri: `mlflow-artifacts:/${experimentId}/${id}/artifacts` },
      };
    };
    // The third names an experiment that does not exist: its row breaks the foreign key, and with it the batch.
    const batch = [pending(exp), pending(exp), pending(2_000_000_000), pending(exp)];
    const settled = await Promise.allSettled(batch.map((p) => createRunBatched(p)));
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
    const written = await db().select({ id: runs.id }).from(runs).where(inArray(runs.id, batch.map((p) => p.row.id)));
    expect(written.map((w) => w.id).sort()).toEqual([batch[0]!, batch[1]!, batch[3]!].map((p) => p.row.id).sort());
    const audited = await db().select({ target: auditEvents.target }).from(auditEvents).where(inArray(auditEvents.target, batch.map((p) => `run:${p.row.id}`)));
    expect(audited).toHaveLength(3);
    expect(audited.map((a) => a.target)).not.toContain(`run:${batch[2]!.row.id}`);
  });

  it("answers committed runs as created when recording their tag keys fails after the commit, and records the keys later (#12)", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = Number(await createExperiment(token, `batched-keys-${Date.now()}`));
    const [{ teamId }] = (await db().select({ teamId: experiments.teamId }).from(experiments).where(eq(experiments.id, exp))) as [{ teamId: string }];
    const key = `fresh.${Date.now()}`;
    const pending = () => {
      const id = newRunId();
      return {
        ctx, tags: [["mlflow.runName", id], [key, "v"]] as [string, string][], audit: { action: "run.create", target: `run:${id}`, details: { test: true } },
        row: { id, experimentId: exp, teamId, name: id, status: "RUNNING" as const, startTime: Date.now(), userId: DEMO.ds, createdBy: ctx.actor.userId, artifactUri: `mlflow-artifacts:/${exp}/${id}/artifacts` },
      };
    };
    // A real failure of the step after the commit: the key index refuses every insert.
    await db().execute(sql.raw(`create function refuse_keys() returns trigger language plpgsql as $$ begin raise exception 'key index unavailable'; end $$`));
    await db().execute(sql.raw(`create trigger refuse_keys before insert on experiment_keys for each row execute function refuse_keys()`));
    const batch = [pending(), pending(), pending()];
    let settled: PromiseSettledResult<string>[];
    try {
      settled = await Promise.allSettled(batch.map((p) => createRunBatched(p)));
      await flushed(db());
    } finally {
      await db().execute(sql.raw(`drop trigger refuse_keys on experiment_keys`));
      await db().execute(sql.raw(`drop function refuse_keys()`));
    }
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "fulfilled", "fulfilled"]);
    settled.forEach((s, i) => expect(JSON.parse((s as PromiseFulfilledResult<string>).value).info.run_id).toBe(batch[i]!.row.id));
    const ids = batch.map((p) => p.row.id);
    const written = await db().select({ id: runs.id }).from(runs).where(inArray(runs.id, ids));
    expect(written.map((w) => w.id).sort()).toEqual([...ids].sort());
    expect(await db().select({ target: auditEvents.target }).from(auditEvents).where(inArray(auditEvents.target, ids.map((id) => `run:${id}`)))).toHaveLength(3);
    const recorded = () => db().select({ key: experimentKeys.key }).from(experimentKeys).where(sql`${experimentKeys.experimentId} = ${exp} and ${experimentKeys.key} = ${key}`);
    expect(await recorded()).toHaveLength(0);
    // The next create (without that tag) pays the debt: the key index heals without a scan.
    const next = pending();
    next.tags = [["mlflow.runName", next.row.id]];
    await createRunBatched(next);
    await flushed(db());
    expect(await recorded()).toHaveLength(1);
  });

  it("keeps the planner's statistics current as runs are created: no search plan from an empty-table estimate after a load", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `analysed-${Date.now()}`);
    const count = async () => Number((await db().select({ n: sql<number>`count(*)` }).from(runs))[0]!.n);
    const before = await count();
    setAnalyzeThreshold(5);
    try {
      for (let i = 0; i < 6; i++) expect((await post(token, "runs/create", { experiment_id: exp })).status).toBe(200);
      await analyzing(db());
    } finally {
      setAnalyzeThreshold();
    }
    // Never analysed, PostgreSQL would still estimate -1 (unknown) rows; analysed during the creates, it counts them.
    const rows = await db().execute(sql`select reltuples::float8 as estimated from pg_class where oid = 'runs'::regclass`);
    const estimated = Number((rows as unknown as { rows: { estimated: number }[] }).rows[0]!.estimated);
    expect(estimated).toBeGreaterThan(before);
    expect(estimated).toBeLessThanOrEqual(await count());
  });
});
