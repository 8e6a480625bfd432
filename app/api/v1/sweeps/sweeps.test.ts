// Sweeps end to end on a held executor (attempts run nothing; the test ends them and logs their metrics as a job
// would): validation, the driver's budget and parallelism, trials waiting under the team's quota, the median
// stopping rule, pause/resume/stop through the jobs' cancel, a crashed trial's retries, another team refused on
// every route, registering the best trial, and Bayesian search through Optuna when this machine has it.
import { and, count, eq, inArray } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { jobs, modelVersions, params, runs, runTags, sweeps, sweepTrials, teamQuotas, teams, users } from "@/db/schema";
import type { SweepDto } from "@/lib/schemas/sweeps";
import { createSweepSchema } from "@/lib/schemas/sweeps";
import { GET as listGET, POST as createPOST } from "@/app/api/v1/experiments/[id]/sweeps/route";
import { GET as sweepGET } from "@/app/api/v1/sweeps/[id]/route";
import { POST as pausePOST } from "@/app/api/v1/sweeps/[id]/pause/route";
import { POST as resumePOST } from "@/app/api/v1/sweeps/[id]/resume/route";
import { POST as stopPOST } from "@/app/api/v1/sweeps/[id]/stop/route";
import { POST as registerPOST } from "@/app/api/v1/sweeps/[id]/register-best/route";
import { putRunFile, MLMODEL } from "@/server/registry/test-helpers";
import { env } from "@/server/env";
import { cancelJob, getJob } from "@/server/jobs/service";
import { logBatch } from "@/server/tracking/logging";
import { createExperiment } from "@/server/tracking/experiments";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { until } from "@/server/testing/until";
import { tick, useBackend } from "@/server/workers/testing";
import { driveSweep } from "@/server/sweeps/driver";
import { progressOf, valuesAtStep } from "@/server/sweeps/early-stopping";
import { createRun } from "@/server/mlflow/test-client";
import { bayesianAvailability } from "@/server/sweeps/optuna";
import { controlSweep, createSweep, getSweep } from "@/server/sweeps/service";
import { heldBackend } from "@/server/sweeps/testing/held-backend";
import { SweepDriver } from "@/server/workers/sweep-driver";

const db = demoDatabase();
const backend = heldBackend();
let dsToken = "";
let foreignToken = "";
let seq = 0;

beforeAll(async () => {
  useBackend(db(), backend);
  dsToken = await tokenFor(db(), DEMO.ds, "churn");
  foreignToken = await tokenFor(db(), DEMO.leadFraud, "fraud");
});

async function setQuota(q: Partial<typeof teamQuotas.$inferInsert>): Promise<void> {
  const [t] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  await db().update(teamQuotas).set(q).where(eq(teamQuotas.teamId, t!.id));
}

afterEach(async () => {
  const lead = await ctxFor(db(), DEMO.lead);
  for (const s of await db().select({ id: sweeps.id }).from(sweeps).where(inArray(sweeps.state, ["running", "paused"]))) await controlSweep(lead, s.id, "stop").catch(() => undefined);
  for (const j of await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]))) await cancelJob(lead, j.id).catch(() => undefined);
  await tick(db());
  await setQuota({ cpu: 64, memoryGib: 256, gpus: 8, maxConcurrentJobs: 10 });
});

async function experiment(): Promise<string> {
  return (await createExperiment(await ctxFor(db(), DEMO.ds), { name: `sweeps-${Date.now()}-${++seq}`, team: "churn" })).experiment_id;
}

const BASE = {
  space: [
    { name: "lr", type: "log_uniform", low: 0.001, high: 0.5 },
    { name: "epochs", type: "int", low: 5, high: 40 },
    { name: "optimizer", type: "fixed", value: "sgd" },
  ],
  objective: { metric: "val_loss", direction: "minimize" },
  algorithm: "random",
  seed: 7,
  template: { command: ["python3", "train.py"], instance_type: "cpu.small", max_runtime_seconds: 600 },
};

async function sweepOf(exp: string, over: Record<string, unknown> = {}, email: string = DEMO.ds): Promise<SweepDto> {
  return createSweep(await ctxFor(db(), email), exp, createSweepSchema.parse({ ...BASE, ...over }));
}

/** One driver pass, then one scheduler pass (admission and start of what it submitted). */
async function pass(id: string): Promise<SweepDto> {
  await driveSweep(db(), id);
  await tick(db());
  return getSweep(await ctxFor(db(), DEMO.ds), id);
}

/** The trial's job logs `metric` per step, then exits with `code`; resolves once the job's end is recorded. */
async function finishTrial(sweep: SweepDto, number: number, values: number[], code = 0): Promise<void> {
  const trial = (await getSweep(await ctxFor(db(), DEMO.ds), sweep.sweep_id)).trials.find((t) => t.number === number)!;
  if (values.length) {
    await logBatch(await ctxFor(db(), DEMO.ds), { run_id: trial.run_id, metrics: values.map((value, step) => ({ key: sweep.objective.metric, value, step, timestamp: Date.now() + step })), params: [], tags: [] });
  }
  const lead = await ctxFor(db(), DEMO.lead);
  const before = await getJob(lead, trial.job_id!);
  expect(backend.exit(trial.job_id!, code)).toBe(true);
  // Ended, or (a retry) queued again or already on its next attempt.
  await until(`job of trial ${number} to end`, async () => {
    const job = await getJob(lead, trial.job_id!);
    return job.status !== "running" || job.attempt > before.attempt;
  }, 20);
}

describe("creating a sweep", () => {
  it("refuses a bad search space with a clear 400 and writes nothing", async () => {
    const exp = await experiment();
    const before = { sweeps: (await db().select({ n: count() }).from(sweeps))[0]!.n, runs: (await db().select({ n: count() }).from(runs))[0]!.n };
    const bad: [unknown[], RegExp][] = [
      [[{ name: "opt", type: "categorical", values: [] }], /a categorical param needs at least one value/],
      [[{ name: "lr", type: "log_uniform", low: 0, high: 1 }], /log_uniform needs low > 0/],
      [[{ name: "lr", type: "uniform", low: 0.5, high: 0.5 }], /param "lr": low \(0.5\) must be below high \(0.5\)/],
      [[{ name: "depth", type: "int", low: 9, high: 3 }], /param "depth": low \(9\) must be below high \(3\)/],
      [[{ name: "lr", type: "normal", low: 0, high: 1 }], /type must be one of uniform, log_uniform, int, categorical, fixed/],
      [[{ name: "lr", type: "uniform", min: 0, max: 1 }], /min|max|Unrecognized/i],
      [[{ name: "lr", type: "uniform", low: 0, high: 1 }, { name: "lr", type: "int", low: 1, high: 3 }], /param "lr" appears twice/],
      [[], /the search space needs at least one param/],
    ];
    for (const [space, message] of bad) {
      const res = await call(createPOST, { method: "POST", path: `/api/v1/experiments/${exp}/sweeps`, token: dsToken, params: { id: exp }, body: { ...BASE, space } });
      expect(res.status, JSON.stringify(space)).toBe(400);
      expect((res.json as { error: { message: string } }).error.message).toMatch(message);
    }
    // The trials' job is checked as a submit would be: an unknown example, an instance type that does not exist.
    const unknownSource = await call(createPOST, { method: "POST", path: `/api/v1/experiments/${exp}/sweeps`, token: dsToken, params: { id: exp }, body: { ...BASE, template: { source: "examples/nope" } } });
    expect(unknownSource.status).toBe(400);
    expect((unknownSource.json as { error: { message: string } }).error.message).toMatch(/no built-in example "examples\/nope"/);
    await setQuota({ gpus: 2 });
    const tooBig = await call(createPOST, { method: "POST", path: `/api/v1/experiments/${exp}/sweeps`, token: dsToken, params: { id: exp }, body: { ...BASE, template: { command: ["true"], instance_type: "gpu.large" } } });
    await setQuota({ gpus: 8 });
    expect(tooBig.status).toBe(409);
    expect((tooBig.json as { error: { message: string } }).error.message).toMatch(/A trial could never run: .*4 GPUs/);
    expect((await db().select({ n: count() }).from(sweeps))[0]!.n).toBe(before.sweeps);
    expect((await db().select({ n: count() }).from(runs))[0]!.n).toBe(before.runs);
  });

  it("makes the parent run, answers 201 with the sweep, and lists it on the experiment", async () => {
    const exp = await experiment();
    const res = await call(createPOST, { method: "POST", path: `/api/v1/experiments/${exp}/sweeps`, token: dsToken, params: { id: exp }, body: { ...BASE, name: "lr search" } });
    expect(res.status).toBe(201);
    const sweep = res.json as SweepDto;
    expect(sweep).toMatchObject({ name: "lr search", state: "running", team: "churn", algorithm: "random", max_trials: 20, parallelism: 2, seed: 7, counts: { total: 0 } });
    const [parent] = await db().select({ status: runs.status, name: runs.name }).from(runs).where(eq(runs.id, sweep.parent_run_id));
    expect(parent).toMatchObject({ status: "RUNNING", name: "lr search" });
    const list = await call(listGET, { path: `/api/v1/experiments/${exp}/sweeps`, token: dsToken, params: { id: exp } });
    expect(list.status).toBe(200);
    expect((list.json as { sweeps: { sweep_id: string }[] }).sweeps.map((s) => s.sweep_id)).toEqual([sweep.sweep_id]);
    expect((list.json as { bayesian: { available: boolean; message: string } }).bayesian.message).toMatch(/Optuna/);
  });
});

describe("the driver", () => {
  it("submits trials as child runs with their params, within parallelism and budget, and finishes", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 3, parallelism: 2 });
    let now = await pass(sweep.sweep_id);
    expect(now.counts).toMatchObject({ total: 2, running: 2 });
    now = await pass(sweep.sweep_id);
    expect(now.counts.total).toBe(2); // parallelism 2: nothing more while two run
    for (const t of now.trials) {
      expect(backend.commands.get(t.job_id!)).toEqual(["python3", "train.py", `--lr=${t.params.lr}`, `--epochs=${t.params.epochs}`, "--optimizer=sgd"]);
      expect(Number(t.params.lr)).toBeGreaterThanOrEqual(0.001);
      expect(Number(t.params.lr)).toBeLessThanOrEqual(0.5);
      const tags = await db().select().from(runTags).where(and(eq(runTags.runId, t.run_id), eq(runTags.key, "mlflow.parentRunId")));
      expect(tags[0]?.value).toBe(sweep.parent_run_id);
      const [run] = await db().select({ parent: runs.parentRunId }).from(runs).where(eq(runs.id, t.run_id));
      expect(run!.parent).toBe(sweep.parent_run_id);
    }
    // The job logs its own arguments, one of them formatted its own way: it is not refused, and keeps its value;
    // the trial's other params join the run when the job ends.
    const first = now.trials[0]!;
    const asPython = (Number(first.params.lr) * 1e-3).toExponential();
    await logBatch(await ctxFor(db(), DEMO.ds), { run_id: first.run_id, metrics: [], params: [{ key: "lr", value: asPython }], tags: [] });
    await finishTrial(sweep, 0, [0.6, 0.5, 0.4]);
    now = await pass(sweep.sweep_id);
    expect(now.counts).toMatchObject({ total: 3, succeeded: 1, running: 2 });
    expect(now.trials[0]).toMatchObject({ state: "succeeded", objective: 0.4 });
    const logged = await db().select({ key: params.key, value: params.value }).from(params).where(eq(params.runId, first.run_id));
    expect(Object.fromEntries(logged.map((p) => [p.key, p.value]))).toEqual({ lr: asPython, epochs: String(first.params.epochs), optimizer: "sgd" });
    expect(await db().select().from(params).where(eq(params.runId, now.trials[2]!.run_id))).toEqual([]);
    await finishTrial(sweep, 1, [0.5, 0.3]);
    await finishTrial(sweep, 2, [0.7]);
    now = await pass(sweep.sweep_id);
    expect(now.counts).toMatchObject({ total: 3, succeeded: 3 });
    expect(now.state).toBe("finished");
    expect(now.best_trial).toMatchObject({ number: 1, objective: 0.3 });
    const [parent] = await db().select({ status: runs.status }).from(runs).where(eq(runs.id, sweep.parent_run_id));
    expect(parent!.status).toBe("FINISHED");
    expect((await pass(sweep.sweep_id)).counts.total).toBe(3);
  });

  it("walks a grid in order and ends with it, whatever the budget", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { algorithm: "grid", max_trials: 10, parallelism: 3, space: [{ name: "opt", type: "categorical", values: ["sgd", "adam"] }, { name: "depth", type: "int", low: 1, high: 2 }] });
    expect(sweep.max_trials).toBe(4);
    let now = await pass(sweep.sweep_id);
    expect(now.trials.map((t) => t.params)).toEqual([{ opt: "sgd", depth: 1 }, { opt: "sgd", depth: 2 }, { opt: "adam", depth: 1 }]);
    for (let i = 0; i < 3; i++) await finishTrial(sweep, i, [i]);
    now = await pass(sweep.sweep_id);
    expect(now.trials.map((t) => t.params)).toEqual([{ opt: "sgd", depth: 1 }, { opt: "sgd", depth: 2 }, { opt: "adam", depth: 1 }, { opt: "adam", depth: 2 }]);
    await finishTrial(sweep, 3, [3]);
    now = await pass(sweep.sweep_id);
    expect(now).toMatchObject({ state: "finished", counts: { total: 4, succeeded: 4 }, best_trial: { number: 0, objective: 0 } });
  });

  it("never reuses a trial's number when a trial's run was deleted for good", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 3, parallelism: 2 });
    let now = await pass(sweep.sweep_id);
    await finishTrial(sweep, 0, [0.5]);
    await finishTrial(sweep, 1, [0.4]);
    await db().delete(runs).where(eq(runs.id, now.trials[0]!.run_id));
    now = await pass(sweep.sweep_id);
    expect(now.trials.map((t) => t.number)).toEqual([1, 2]);
    await finishTrial(sweep, 2, [0.3]);
    now = await pass(sweep.sweep_id);
    expect(now).toMatchObject({ state: "finished", counts: { total: 2 }, best_trial: { number: 2 } });
  });

  it("fails when a trial could never be submitted, and still records the trials that were running", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 3, parallelism: 2 });
    await pass(sweep.sweep_id);
    await finishTrial(sweep, 0, [0.5]);
    await setQuota({ cpu: 1 });
    let now = await pass(sweep.sweep_id);
    expect(now.state).toBe("failed");
    expect(now.message).toMatch(/^trial 2 could not be submitted: Quota exceeded: .*CPU/);
    expect(now.trials[1]!.state).toBe("running");
    await finishTrial(sweep, 1, [0.3]);
    await new SweepDriver(db(), 60_000).tick();
    now = await getSweep(await ctxFor(db(), DEMO.ds), sweep.sweep_id);
    expect(now.trials[1]).toMatchObject({ state: "succeeded", objective: 0.3 });
    expect(now.best_trial?.number).toBe(1);
    const [parent] = await db().select({ status: runs.status }).from(runs).where(eq(runs.id, sweep.parent_run_id));
    expect(parent!.status).toBe("FAILED");
  });

  it("retries a crashed trial by the job's own rule, then counts it failed", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 1, parallelism: 1, template: { ...BASE.template, retries: 1 } });
    await pass(sweep.sweep_id);
    await finishTrial(sweep, 0, [], 3);
    let now = await pass(sweep.sweep_id);
    expect(now.trials[0]).toMatchObject({ state: "running", attempt: 2 });
    await finishTrial(sweep, 0, [], 3);
    now = await pass(sweep.sweep_id);
    expect(now.trials[0]).toMatchObject({ state: "failed", message: "exited with code 3" });
    expect(now).toMatchObject({ state: "finished", counts: { failed: 1 }, best_trial: null });
  });

  it("lets trials wait under the team's quota, says why, and they start when room frees up", async () => {
    await setQuota({ maxConcurrentJobs: 1 });
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 2, parallelism: 2 });
    let now = await pass(sweep.sweep_id);
    expect(now.counts).toMatchObject({ total: 2, running: 1, waiting: 1 });
    const waiting = now.trials.find((t) => t.state === "waiting")!;
    expect(waiting.queue_reason).toMatch(/concurrent jobs/);
    expect(now.waiting_reasons[0]).toMatchObject({ trials: 1, reason: waiting.queue_reason });
    const running = now.trials.find((t) => t.state === "running")!;
    await finishTrial(sweep, running.number, [0.5]);
    now = await pass(sweep.sweep_id);
    expect(now.counts).toMatchObject({ running: 1, waiting: 0, succeeded: 1 });
    expect(now.trials.find((t) => t.number === waiting.number)!.state).toBe("running");
  });

  it("stops a trial early by the median rule, through the job's cancel", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 3, parallelism: 2, early_stopping: { type: "median", min_trials: 2, min_steps: 1 } });
    await pass(sweep.sweep_id);
    await finishTrial(sweep, 0, [0.6, 0.5, 0.4, 0.35]);
    await pass(sweep.sweep_id);
    await finishTrial(sweep, 1, [0.55, 0.45, 0.4, 0.3]);
    let now = await pass(sweep.sweep_id);
    expect(now.counts).toMatchObject({ succeeded: 2, running: 1 });
    const ctx = await ctxFor(db(), DEMO.ds);
    // Trial 2 is at step 1 with 0.9 (best so far): the finished trials had 0.5 and 0.45 there.
    await logBatch(ctx, { run_id: now.trials[2]!.run_id, metrics: [{ key: "val_loss", value: 0.95, step: 0, timestamp: 1 }, { key: "val_loss", value: 0.9, step: 1, timestamp: 2 }], params: [], tags: [] });
    now = await pass(sweep.sweep_id);
    const job = now.trials[2]!.job_id!;
    await until("the pruned trial's job to be cancelled", async () => (await getJob(ctx, job)).status === "cancelled", 20);
    now = await pass(sweep.sweep_id);
    expect(now.trials[2]).toMatchObject({ state: "pruned", objective: 0.9 });
    expect(now.trials[2]!.message).toMatch(/stopped early at step 1: best val_loss 0.9 is worse than the median 0.475 of 2 finished trials/);
    expect(now).toMatchObject({ state: "finished", counts: { pruned: 1, succeeded: 2 } });
    expect(now.best_trial?.number).toBe(1);
  });

  it("compares at the trial's step only the finished trials that got that far, each by its last value up to it", async () => {
    const exp = await experiment();
    const ctx = await ctxFor(db(), DEMO.ds);
    const run = async (points: [number, number][]) => {
      const r = await createRun(dsToken, exp);
      await logBatch(ctx, { run_id: r.run_id, metrics: points.map(([step, value], i) => ({ key: "val_loss", value, step, timestamp: 1000 + i })), params: [], tags: [] });
      return r.run_id;
    };
    const a = await run([[0, 0.9], [2, 0.5], [4, 0.3]]); // at step 3: 0.5 (its point at step 2)
    const b = await run([[0, 0.8], [3, 0.4], [3, 0.35]]); // at step 3: 0.35 (the later of two points at step 3)
    const short = await run([[0, 0.2], [1, 0.1]]); // never reached step 3: left out
    expect((await valuesAtStep(db(), [a, b, short], "val_loss", 3)).sort()).toEqual([0.35, 0.5]);
    expect(await valuesAtStep(db(), [], "val_loss", 3)).toEqual([]);
    expect(await progressOf(db(), a, "val_loss", "minimize")).toEqual({ step: 4, best: 0.3 });
    expect(await progressOf(db(), a, "val_loss", "maximize")).toEqual({ step: 4, best: 0.9 });
    expect(await progressOf(db(), a, "auc", "maximize")).toBeNull();
  });

  it("pauses (no new trials), resumes, and stops (cancels running trials), with conflicts for the wrong state", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 5, parallelism: 1 });
    await pass(sweep.sweep_id);
    const path = `/api/v1/sweeps/${sweep.sweep_id}`;
    const p = { id: sweep.sweep_id };
    expect((await call(pausePOST, { method: "POST", path: `${path}/pause`, token: dsToken, params: p })).status).toBe(200);
    await finishTrial(sweep, 0, [0.5]);
    let now = await pass(sweep.sweep_id);
    expect(now).toMatchObject({ state: "paused", counts: { total: 1, succeeded: 1 } });
    expect((await call(pausePOST, { method: "POST", path: `${path}/pause`, token: dsToken, params: p })).status).toBe(409);
    expect((await call(resumePOST, { method: "POST", path: `${path}/resume`, token: dsToken, params: p })).status).toBe(200);
    now = await pass(sweep.sweep_id);
    expect(now).toMatchObject({ state: "running", counts: { total: 2, running: 1 } });
    const stop = await call(stopPOST, { method: "POST", path: `${path}/stop`, token: dsToken, params: p });
    expect(stop.status).toBe(200);
    expect((stop.json as SweepDto).state).toBe("stopping");
    await pass(sweep.sweep_id);
    const job = now.trials[1]!.job_id!;
    await until("the running trial to be cancelled", async () => (await getJob(await ctxFor(db(), DEMO.ds), job)).status === "cancelled", 20);
    now = await pass(sweep.sweep_id);
    expect(now).toMatchObject({ state: "stopped", counts: { total: 2, cancelled: 1, succeeded: 1 } });
    const [parent] = await db().select({ status: runs.status }).from(runs).where(eq(runs.id, sweep.parent_run_id));
    expect(parent!.status).toBe("KILLED");
    expect((await call(resumePOST, { method: "POST", path: `${path}/resume`, token: dsToken, params: p })).status).toBe(409);
    // Another member of the team may read it, not control it.
    const mle = await tokenFor(db(), DEMO.mle, "churn");
    expect((await call(sweepGET, { path, token: mle, params: p })).status).toBe(200);
  });
});

describe("a sweep whose user is gone", () => {
  it("cancels its trials through the jobs' cancel and fails, saying why", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 4, parallelism: 2 }, DEMO.mle);
    const now = await pass(sweep.sweep_id);
    expect(now.counts.running).toBe(2);
    await db().update(users).set({ deactivatedAt: new Date() }).where(eq(users.email, DEMO.mle));
    try {
      await pass(sweep.sweep_id);
      const lead = await ctxFor(db(), DEMO.lead);
      for (const t of now.trials) await until(`trial ${t.number}'s job to be cancelled`, async () => (await getJob(lead, t.job_id!)).status === "cancelled", 20);
      const ended = await pass(sweep.sweep_id);
      expect(ended).toMatchObject({ state: "failed", counts: { cancelled: 2, total: 2 } });
      expect(ended.message).toBe(`${DEMO.mle}'s account is gone or deactivated; its trials cannot be submitted.`);
    } finally {
      await db().update(users).set({ deactivatedAt: null }).where(eq(users.email, DEMO.mle));
    }
  });
});

describe("access and registration", () => {
  it("answers another team's member 404 on every route and action, and writes nothing", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 1, parallelism: 1 });
    const path = `/api/v1/sweeps/${sweep.sweep_id}`;
    const p = { id: sweep.sweep_id };
    expect((await call(sweepGET, { path, token: foreignToken, params: p })).status).toBe(404);
    for (const [handler, action] of [[pausePOST, "pause"], [resumePOST, "resume"], [stopPOST, "stop"]] as const) {
      expect((await call(handler, { method: "POST", path: `${path}/${action}`, token: foreignToken, params: p })).status).toBe(404);
    }
    expect((await call(registerPOST, { method: "POST", path: `${path}/register-best`, token: foreignToken, params: p, body: { name: "stolen" } })).status).toBe(404);
    expect((await call(listGET, { path: `/api/v1/experiments/${exp}/sweeps`, token: foreignToken, params: { id: exp } })).status).toBe(404);
    expect((await call(createPOST, { method: "POST", path: `/api/v1/experiments/${exp}/sweeps`, token: foreignToken, params: { id: exp }, body: BASE })).status).toBe(404);
    const [row] = await db().select({ state: sweeps.state }).from(sweeps).where(eq(sweeps.id, sweep.sweep_id));
    expect(row!.state).toBe("running");
    expect((await db().select({ n: count() }).from(sweeps).where(eq(sweeps.experimentId, Number(exp))))[0]!.n).toBe(1);
  });

  it("never answers the trial template's environment values, only their names (they may hold the user's secrets)", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { template: { ...BASE.template, env: { AWS_SECRET_ACCESS_KEY: "s3cr3t-value", FEATURE_SET: "v2" } } }, DEMO.lead);
    const colleague = await tokenFor(db(), DEMO.ds, "churn");
    const r = await call(sweepGET, { token: colleague, params: { id: sweep.sweep_id } });
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.json)).not.toContain("s3cr3t-value");
    expect((r.json as { template: Record<string, unknown> }).template).toMatchObject({ env_keys: ["AWS_SECRET_ACCESS_KEY", "FEATURE_SET"] });
    expect((r.json as { template: Record<string, unknown> }).template.env).toBeUndefined();
    expect(JSON.stringify(sweep)).not.toContain("s3cr3t-value");
  });

  it("registers the best trial's model in one call", async () => {
    const exp = await experiment();
    const sweep = await sweepOf(exp, { max_trials: 2, parallelism: 2, objective: { metric: "auc", direction: "maximize" } });
    const path = `/api/v1/sweeps/${sweep.sweep_id}/register-best`;
    const early = await call(registerPOST, { method: "POST", path, token: dsToken, params: { id: sweep.sweep_id }, body: { name: `sweep-best-${seq}` } });
    expect(early.status).toBe(409);
    expect((early.json as { error: { message: string } }).error.message).toMatch(/no finished trial that logged auc yet/);
    const now = await pass(sweep.sweep_id);
    for (const t of now.trials) await putRunFile(dsToken, { exp, run: t.run_id }, "model/MLmodel", MLMODEL);
    await finishTrial(sweep, 0, [0.81]);
    await finishTrial(sweep, 1, [0.84]);
    await pass(sweep.sweep_id);
    const res = await call(registerPOST, { method: "POST", path, token: dsToken, params: { id: sweep.sweep_id }, body: { name: `sweep-best-${seq}` } });
    expect(res.status).toBe(201);
    const body = res.json as { trial: { number: number; run_id: string }; version: { version: string; run_id: string } };
    expect(body.trial.number).toBe(1);
    expect(body.version).toMatchObject({ version: "1", run_id: now.trials[1]!.run_id });
    const versions = await db().select({ runId: modelVersions.runId }).from(modelVersions).where(eq(modelVersions.runId, now.trials[1]!.run_id));
    expect(versions).toHaveLength(1);
  });
});

describe("Bayesian search (Optuna)", () => {
  it("says what it needs where Optuna is missing", async () => {
    const missing = await bayesianAvailability("/nonexistent/python3");
    expect(missing.available).toBe(false);
    expect(missing.message).toMatch(/pip install optuna.*CAIRN_OPTUNA_PYTHON/);
  });

  it("asks Optuna's TPE for trials within the space, from the finished ones", async (t) => {
    const optuna = await bayesianAvailability();
    if (!optuna.available) {
      t.skip(`Optuna is not importable with CAIRN_OPTUNA_PYTHON=${env().sweeps.optunaPython}: create /tmp/cairn-optuna-venv (pip install optuna) and point the variable at its python`);
      return;
    }
    const exp = await experiment();
    const sweep = await sweepOf(exp, {
      algorithm: "bayesian", max_trials: 7, parallelism: 1,
      space: [{ name: "x", type: "uniform", low: -3, high: 3 }, { name: "kind", type: "categorical", values: ["a", "b"] }],
    });
    for (let i = 0; i < 7; i++) {
      const now = await pass(sweep.sweep_id);
      const trial = now.trials[i]!;
      expect(trial.params.x as number).toBeGreaterThanOrEqual(-3);
      expect(trial.params.x as number).toBeLessThanOrEqual(3);
      expect(["a", "b"]).toContain(trial.params.kind);
      await finishTrial(sweep, i, [(trial.params.x as number) ** 2 + (trial.params.kind === "a" ? 0 : 1)]);
    }
    const done = await pass(sweep.sweep_id);
    expect(done).toMatchObject({ state: "finished", counts: { succeeded: 7 } });
    expect((await db().select({ n: count() }).from(sweepTrials).where(eq(sweepTrials.sweepId, sweep.sweep_id)))[0]!.n).toBe(7);
  }, 120_000);
});
