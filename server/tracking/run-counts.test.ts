// Issue 20: the experiment page's run count and the runs table's total read each experiment's counts (kept by
// triggers on runs, migration 0036) instead of counting its runs; a filtered total counts up to 10,000 and
// says "more" beyond. The counts must stay exact through every way runs come and go.
import { readFileSync } from "node:fs";
import path from "node:path";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Run } from "../mlflow/test-client";
import { createExperiment, post } from "../mlflow/test-client";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { FILTERED_COUNT_CAP, browseRuns } from "./browse";
import { chartRuns } from "./charts";
import { encodeOffset, getExperiment, searchExperiments } from "./experiments";
import { forgetStatisticsCheck } from "./statistics";

const db = demoDatabase();

type Mismatch = { experiment_id: number; active_runs: number; deleted_runs: number; last_activity: number | null; active: number; deleted: number; last: number | null };

/** Every experiment whose kept counts differ from a recount of its runs (none, when the triggers are right). */
async function mismatches(): Promise<Mismatch[]> {
  const result = await db().execute(sql`
    select e.id as experiment_id, coalesce(s.active_runs, 0)::float8 as active_runs, coalesce(s.deleted_runs, 0)::float8 as deleted_runs,
           s.last_activity::float8 as last_activity, c.active::float8 as active, c.deleted::float8 as deleted, c.last::float8 as last
    from experiments e
    left join experiment_run_stats s on s.experiment_id = e.id
    cross join lateral (
      select count(*) filter (where r.lifecycle_stage = 'active') as active, count(*) filter (where r.lifecycle_stage <> 'active') as deleted,
             max(coalesce(r.end_time, r.start_time)) filter (where r.lifecycle_stage = 'active') as last
      from runs r where r.experiment_id = e.id) c
    where coalesce(s.active_runs, 0) <> c.active or coalesce(s.deleted_runs, 0) <> c.deleted
       or (c.last is not null and s.last_activity is distinct from c.last)`);
  return (result as unknown as { rows: Mismatch[] }).rows;
}

async function bulkRuns(experimentId: number, n: number, prefix: string, tagValue: (i: string) => string = () => "'a'"): Promise<void> {
  await db().transaction(async (tx) => {
    await tx.execute(sql`
      insert into runs (id, experiment_id, team_id, name, status, start_time, end_time, user_id, created_by, lifecycle_stage, artifact_uri)
      select md5(${prefix} || i), e.id, e.team_id, ${prefix} || i, 'FINISHED', 1700000000000 + i, 1700000000000 + i + 5000, ${DEMO.ds}, e.created_by, 'active', 'x'
      from experiments e, generate_series(1, ${n}) i where e.id = ${experimentId}`);
    await tx.execute(sql.raw(`
      insert into run_tags (run_id, key, value)
      select md5('${prefix.replace(/'/g, "''")}' || i), 'stage', ${tagValue("i")} from generate_series(1, ${n}) i`));
  });
}

describe("experiment run counts", () => {
  it("match a recount of the runs through the demo seed, runs/create, delete and restore, a bulk SQL load, a hard delete and an archive", async () => {
    expect(await mismatches()).toEqual([]);
    const ctx = await ctxFor(db(), DEMO.ds);
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `counts-${Date.now()}`);
    expect((await getExperiment(ctx, exp)).run_count).toBe(0);
    const created = await Promise.all([0, 1, 2].map((i) => post<{ run: Run }>(token, "runs/create", { experiment_id: exp, run_name: `c${i}`, start_time: 1_800_000_000_000 + i })));
    const ids = created.map((c) => c.json.run.info.run_id);
    expect((await getExperiment(ctx, exp)).run_count).toBe(3);
    expect((await post(token, "runs/delete", { run_id: ids[0] })).status).toBe(200);
    expect((await getExperiment(ctx, exp)).run_count).toBe(2);
    expect((await browseRuns(ctx, { experimentId: exp, pageSize: 10, view: "DELETED_ONLY" })).total).toBe(1);
    expect((await post(token, "runs/restore", { run_id: ids[0] })).status).toBe(200);
    expect((await post(token, "runs/update", { run_id: ids[1], status: "FINISHED", end_time: 1_900_000_000_000 })).status).toBe(200);
    const after = await getExperiment(ctx, exp);
    expect(after.run_count).toBe(3);
    expect(after.last_activity_at).toBe(1_900_000_000_000);
    await bulkRuns(Number(exp), 500, "bulk-");
    expect((await getExperiment(ctx, exp)).run_count).toBe(503);
    await db().execute(sql`delete from runs where experiment_id = ${Number(exp)} and name like 'bulk-1%'`);
    const recount = Number(((await db().execute(sql`select count(*)::float8 as n from runs where experiment_id = ${Number(exp)}`)) as unknown as { rows: { n: number }[] }).rows[0]!.n);
    expect(recount).toBeLessThan(503);
    expect((await getExperiment(ctx, exp)).run_count).toBe(recount);
    const listed = await searchExperiments(ctx, { max_results: 100, view_type: "ACTIVE_ONLY", q: `counts-` });
    expect(listed.experiments.find((e) => e.experiment_id === exp)?.run_count).toBe(recount);
    expect(await mismatches()).toEqual([]);
    // Archiving the experiment deletes all its runs in one statement.
    expect((await post(await tokenFor(db(), DEMO.lead, "churn"), "experiments/delete", { experiment_id: exp })).status).toBe(200);
    const archived = await browseRuns(ctx, { experimentId: exp, pageSize: 10, view: "ALL" });
    expect(archived).toMatchObject({ total: recount, total_capped: false });
    expect((await browseRuns(ctx, { experimentId: exp, pageSize: 10 })).total).toBe(0);
    expect(await mismatches()).toEqual([]);
    // The migration's backfill (its last statement) rebuilds the same counts from the runs already there.
    const migration = readFileSync(path.join(process.cwd(), "db/migrations/0036_experiment_run_stats.sql"), "utf8");
    const backfill = migration.split("--> statement-breakpoint").at(-1)!;
    expect(backfill).toMatch(/^\s*INSERT INTO "experiment_run_stats"/);
    await db().transaction(async (tx) => {
      await tx.execute(sql`delete from experiment_run_stats`);
      await tx.execute(sql.raw(backfill));
    });
    expect(await mismatches()).toEqual([]);
    // An experiment deleted for good takes its runs and its counts with it (the cascade meets the triggers).
    await db().execute(sql`delete from experiments where id = ${Number(exp)}`);
    const left = await db().execute(sql`select count(*)::int as n from experiment_run_stats where experiment_id = ${Number(exp)}`);
    expect(Number((left as unknown as { rows: { n: number }[] }).rows[0]!.n)).toBe(0);
    expect(await mismatches()).toEqual([]);
  });

  it("answers an unfiltered total exactly and a filtered one up to 10,000, saying when there are more", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `capped-${Date.now()}`);
    const n = FILTERED_COUNT_CAP + 50;
    await bulkRuns(Number(exp), n, "cap-", (i) => `case when ${i} <= 3 then 'rare' else 'a' end`);
    // The searches plan on the load's statistics (statistics.ts), not on those of the first test's moments ago.
    forgetStatisticsCheck(db());
    const all = await browseRuns(ctx, { experimentId: exp, pageSize: 100 });
    expect(all).toMatchObject({ total: n, total_capped: false });
    expect(all.runs).toHaveLength(100);
    const many = await browseRuns(ctx, { experimentId: exp, filter: "tags.stage = 'a'", pageSize: 100 });
    expect(many).toMatchObject({ total: FILTERED_COUNT_CAP, total_capped: true });
    expect(many.next_page_token).not.toBeNull();
    // Past the cap, the pages still come, and the total never says fewer runs than the pages have shown.
    const far = await browseRuns(ctx, { experimentId: exp, filter: "tags.stage = 'a'", pageSize: 100, pageToken: encodeOffset(FILTERED_COUNT_CAP) });
    expect(far.runs).toHaveLength(n - 3 - FILTERED_COUNT_CAP);
    expect(far).toMatchObject({ offset: FILTERED_COUNT_CAP, total: n - 3, total_capped: true, next_page_token: null });
    const rare = await browseRuns(ctx, { experimentId: exp, filter: "tags.stage = 'rare'", pageSize: 2 });
    expect(rare).toMatchObject({ total: 3, total_capped: false });
    expect(rare.next_page_token).not.toBeNull();
    const last = await browseRuns(ctx, { experimentId: exp, filter: "tags.stage = 'rare'", pageSize: 2, pageToken: rare.next_page_token! });
    expect(last.runs).toHaveLength(1);
    expect(last.next_page_token).toBeNull();
    // The charts' totals: the kept count unfiltered, a count of the filter's runs past the chart's 10,000, the list below.
    expect(await chartRuns(ctx, { experimentId: exp, keys: [] })).toMatchObject({ total: n, truncated: true });
    expect(await chartRuns(ctx, { experimentId: exp, filter: "tags.stage = 'a'", keys: [] })).toMatchObject({ total: n - 3, truncated: true });
    expect(await chartRuns(ctx, { experimentId: exp, filter: "tags.stage = 'rare'", keys: [] })).toMatchObject({ total: 3, truncated: false });
  });

  it("refuses another team's experiment: its count and its runs answer not found", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const exp = await createExperiment(token, `foreign-counts-${Date.now()}`);
    const foreign = await ctxFor(db(), DEMO.dsFraud);
    await expect(getExperiment(foreign, exp)).rejects.toMatchObject({ code: "not_found" });
    await expect(browseRuns(foreign, { experimentId: exp, pageSize: 10 })).rejects.toMatchObject({ code: "not_found" });
  });
});
