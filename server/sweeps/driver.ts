// The sweep driver's one pass over a sweep: record trials whose job ended (with the objective), stop trials by the
// median rule, cancel everything of a stopping sweep, and ask for new trials while the budget and parallelism
// allow — each submitted as an ordinary job (the scheduler admits it under the team's quota) as the sweep's user.
import { and, eq, inArray } from "drizzle-orm";
import type { Db } from "@/db/client";
import { FINAL_JOB_STATUSES, jobs, latestMetrics, params, sweeps, sweepTrials } from "@/db/schema";
import type { JobStatus, SweepSpec, SweepState, TrialState } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { loadUserActor } from "../auth/load-actor";
import { recordKeys } from "../tracking/keys";
import type { Ctx } from "../context";
import { newRequestId, systemCtx } from "../context";
import { AppError } from "../errors";
import { setRunStatus } from "../jobs/run-status";
import { budgetStates, refusedFor, stepMessage } from "../costs/budget";
import { cancelJob, submitJob } from "../jobs/service";
import type { OptunaTrial } from "./optuna";
import { suggestBayesian } from "./optuna";
import { medianRuleVerdict, progressOf, valuesAtStep } from "./early-stopping";
import type { TrialParams } from "./space";
import { gridPoint, gridSize, randomPoint, roundParam, trialCommand } from "./space";

type Sweep = typeof sweeps.$inferSelect;
type Trial = typeof sweepTrials.$inferSelect & { jobStatus: JobStatus | null };

const isFinalJob = (s: JobStatus | null) => s === null || FINAL_JOB_STATUSES.includes(s);
const isOpen = (t: Trial) => t.state === "active" || t.state === "pruning";
/** The next trial's number (numbers are never reused, even when a trial's run was deleted with its row). */
const nextNumber = (trials: Trial[]) => trials.reduce((n, t) => Math.max(n, t.number + 1), 0);

async function loadTrials(db: Db, sweepId: string): Promise<Trial[]> {
  const rows = await db.select({ trial: sweepTrials, jobStatus: jobs.status }).from(sweepTrials).leftJoin(jobs, eq(jobs.id, sweepTrials.jobId)).where(eq(sweepTrials.sweepId, sweepId)).orderBy(sweepTrials.number);
  return rows.map((r) => ({ ...r.trial, jobStatus: r.jobStatus }));
}

/** Ends the sweep (only from the state it was read in: a pause or stop committed meanwhile wins), and its parent run. */
async function endSweep(db: Db, sweep: Sweep, from: SweepState[], to: SweepState, message: string | null): Promise<void> {
  const now = new Date();
  await db.transaction(async (tx) => {
    const [ended] = await tx.update(sweeps).set({ state: to, finishedAt: now, ...(message !== null ? { message } : {}) }).where(and(eq(sweeps.id, sweep.id), inArray(sweeps.state, from))).returning({ id: sweeps.id });
    if (ended) await setRunStatus(tx, sweep.parentRunId, to === "finished" ? "FINISHED" : to === "stopped" ? "KILLED" : "FAILED", now);
  });
}

/** Trials whose job has ended get their final state and objective (the metric's last logged value). */
async function recordEnded(db: Db, sweep: Sweep, trials: Trial[]): Promise<void> {
  const ended = trials.filter((t) => isOpen(t) && isFinalJob(t.jobStatus));
  if (!ended.length) return;
  const metric = sweep.spec.objective.metric;
  const values = await db.select({ runId: latestMetrics.runId, value: latestMetrics.value }).from(latestMetrics).where(and(inArray(latestMetrics.runId, ended.map((t) => t.runId)), eq(latestMetrics.key, metric)));
  const byRun = new Map(values.map((v) => [v.runId, v.value]));
  for (const t of ended) {
    const objective = byRun.get(t.runId) ?? null;
    let state: TrialState = t.jobStatus === null ? "failed" : (t.jobStatus as TrialState);
    let message = t.message;
    if (t.state === "pruning" && t.jobStatus !== "succeeded") state = "pruned";
    if (state === "succeeded" && objective === null) message = `finished without logging ${metric}`;
    if (t.jobStatus === null) message = "its job was deleted";
    await db.transaction(async (tx) => {
      const [moved] = await tx.update(sweepTrials).set({ state, objective: state === "pruned" ? t.objective : objective, message, finishedAt: new Date() })
        .where(and(eq(sweepTrials.id, t.id), inArray(sweepTrials.state, ["active", "pruning"]))).returning({ id: sweepTrials.id });
      // The trial's params join its run once the job has ended, for the keys the job did not log itself: a job that
      // logs its own arguments (a Python script writes 1e-05 where the command said 0.00001) keeps its own value
      // and is never refused a param it logs — MLflow's params are immutable, so logging them first could crash it.
      const entries = Object.entries(t.params);
      if (moved && entries.length) await tx.insert(params).values(entries.map(([key, value]) => ({ runId: t.runId, key, value: String(value) }))).onConflictDoNothing();
    });
    await recordKeys(db, sweep.experimentId, "param", Object.keys(t.params));
    t.state = state;
  }
}

/** The median rule: running trials whose best value so far is worse than the median of finished trials at that step are cancelled. */
async function applyEarlyStopping(ctx: Ctx, sweep: Sweep, trials: Trial[]): Promise<void> {
  const rule = sweep.spec.early_stopping;
  if (rule.type !== "median") return;
  const finished = trials.filter((t) => t.state === "succeeded");
  const running = trials.filter((t) => t.state === "active" && t.jobStatus === "running");
  if (finished.length < rule.min_trials || running.length === 0) return;
  const { metric, direction } = sweep.spec.objective;
  const finishedRuns = finished.map((t) => t.runId);
  for (const t of running) {
    const progress = await progressOf(ctx.db, t.runId, metric, direction);
    if (!progress || progress.step < rule.min_steps) continue;
    const others = await valuesAtStep(ctx.db, finishedRuns, metric, progress.step);
    const verdict = medianRuleVerdict({ direction, minTrials: rule.min_trials, minSteps: rule.min_steps, step: progress.step, best: progress.best, others });
    if (!verdict) continue;
    const message = `stopped early at step ${verdict.step}: best ${sweep.spec.objective.metric} ${fmt(verdict.best)} is worse than the median ${fmt(verdict.median)} of ${verdict.compared} finished trials`;
    await ctx.db.update(sweepTrials).set({ state: "pruning", objective: verdict.best, message }).where(and(eq(sweepTrials.id, t.id), eq(sweepTrials.state, "active")));
    await cancelQuietly(ctx, t.jobId!);
    t.state = "pruning";
  }
}

/** The job's own cancel; one that has ended meanwhile is left as it is. */
async function cancelQuietly(ctx: Ctx, jobId: string): Promise<void> {
  await cancelJob(ctx, jobId).catch((err: unknown) => {
    if (!(err instanceof AppError && err.code === "conflict")) throw err;
  });
}

const fmt = (x: number) => String(Number(x.toPrecision(4)));

/** The next `count` trials' params, by the sweep's algorithm. */
async function suggest(spec: SweepSpec, trials: Trial[], count: number): Promise<TrialParams[]> {
  const first = nextNumber(trials);
  if (spec.algorithm === "grid") return Array.from({ length: count }, (_, i) => gridPoint(spec.space, spec.grid_points, first + i)).filter((p): p is TrialParams => p !== null);
  if (spec.algorithm === "random") return Array.from({ length: count }, (_, i) => randomPoint(spec.space, spec.seed, first + i));
  const history: OptunaTrial[] = trials.map((t) => ({
    params: t.params,
    state: t.state === "succeeded" ? "complete" : t.state === "pruned" ? "pruned" : isOpen(t) ? "running" : "fail",
    value: t.state === "succeeded" ? t.objective : null,
  }));
  const suggested = await suggestBayesian({ space: spec.space, direction: spec.objective.direction, seed: spec.seed, count, trials: history });
  // Floats to 6 significant digits, as grid and random give them (the job parses and logs back the same text).
  return suggested.map((params) => Object.fromEntries(spec.space.map((p) => {
    const v = params[p.name];
    if ((p.type === "uniform" || p.type === "log_uniform") && typeof v === "number") return [p.name, Math.min(p.high, Math.max(p.low, roundParam(v)))];
    if (v === undefined) throw new AppError("upstream_unavailable", `Optuna's suggestion lacks the param ${p.name}.`);
    return [p.name, v];
  })));
}

async function submitTrial(ctx: Ctx, sweep: Sweep, number: number, params: TrialParams): Promise<void> {
  const t = sweep.spec.template;
  const parsed = trainJobSchema.safeParse({
    ...(t.source ? { source: t.source } : {}),
    command: trialCommand(t.command ?? [], params),
    ...(t.instance_type ? { instance_type: t.instance_type } : {}),
    ...(t.gpus !== null ? { gpus: t.gpus } : {}),
    ...(t.resources ? { resources: t.resources } : {}),
    env: t.env, priority: t.priority, max_runtime_seconds: t.max_runtime_seconds, retries: t.retries,
    name: `${sweep.name} · trial ${number}`.slice(0, 200),
  });
  // A template and params that together make no valid job (a command too long with the params added): an
  // AppError, so the sweep fails saying why rather than being tried again at every pass.
  if (!parsed.success) throw new AppError("invalid_input", `Trial ${number} is not a valid job: ${parsed.error.issues.map((i) => `${i.path.join(".") || "job"}: ${i.message}`).join("; ")}.`);
  const input = parsed.data;
  await submitJob(ctx, String(sweep.experimentId), input, {
    runName: `${sweep.name.slice(0, 180)}-trial-${number}`,
    tags: [{ key: "mlflow.parentRunId", value: sweep.parentRunId }, { key: "cairn.sweep_id", value: sweep.id }, { key: "cairn.sweep_trial", value: String(number) }],
    onCreated: async (tx, job) => {
      // The sweep is read again under a lock: a pause or stop committed since this pass began means no trial.
      const [current] = await tx.select({ state: sweeps.state }).from(sweeps).where(eq(sweeps.id, sweep.id)).for("update");
      if (current?.state !== "running") throw new AppError("conflict", `sweep ${sweep.id} is ${current?.state ?? "gone"}`);
      await tx.insert(sweepTrials).values({ sweepId: sweep.id, number, jobId: job.jobId, runId: job.runId, params });
    },
  });
}

/** One pass over one sweep. Safe to repeat: every step reads what the last one left. */
export async function driveSweep(db: Db, sweepId: string): Promise<void> {
  const [sweep] = await db.select().from(sweeps).where(eq(sweeps.id, sweepId));
  if (!sweep) return;
  if (!["running", "paused", "stopping"].includes(sweep.state)) {
    // Ended (failed) with trials still running: they are ordinary jobs and finish; their results are still recorded.
    await recordEnded(db, sweep, await loadTrials(db, sweep.id));
    return;
  }
  const actor = sweep.userId ? await loadUserActor(db, sweep.userId) : null;
  // Trials are submitted as the sweep's user; cancels (stop, early stopping) carry out intent already authorized —
  // the stop action's, or the sweep's own rule — so they go through the jobs' cancel as the system, and still work
  // once the user has left the team.
  const system = systemCtx(db, "sweep");
  const trials = await loadTrials(db, sweep.id);
  await recordEnded(db, sweep, trials);

  if (sweep.state === "stopping" || !actor) {
    const open = trials.filter((t) => isOpen(t) && !isFinalJob(t.jobStatus));
    for (const t of open) await cancelQuietly(system, t.jobId!);
    if (open.length > 0) return;
    if (actor) return endSweep(db, sweep, ["stopping"], "stopped", null);
    return endSweep(db, sweep, ["running", "paused", "stopping"], "failed", `${sweep.userEmail}'s account is gone or deactivated; its trials cannot be submitted.`);
  }
  const ctx: Ctx = { actor, db, request: { id: `sweep-${newRequestId()}` } };
  await applyEarlyStopping(system, sweep, trials);
  if (sweep.state !== "running") return;

  const spec = sweep.spec;
  const budget = spec.algorithm === "grid" ? Math.min(spec.max_trials, gridSize(spec.space, spec.grid_points)) : spec.max_trials;
  const open = trials.filter(isOpen).length;
  // Numbers, not rows, count the budget: a trial whose run was deleted for good (its row with it) is not asked for again.
  const asked = nextNumber(trials);
  const count = Math.min(spec.parallelism - open, budget - asked);
  if (count <= 0) {
    if (open === 0 && asked >= budget) {
      const done = trials.filter((t) => t.state === "succeeded").length;
      await endSweep(db, sweep, ["running"], "finished", `${trials.length} trials: ${done} succeeded`);
    }
    return;
  }
  // A team past a budget step that holds the sweep's user back: the sweep waits (its running trials go on) until a
  // lead's extension, a raised budget or the next month — read here, so a waiting sweep writes no refusal each pass.
  const [held] = await budgetStates(db, [sweep.teamId]);
  if (held && held.step !== "ok" && refusedFor(actor, held)) {
    const waiting = `waiting to submit trial ${asked + 1}: ${stepMessage(held, held.step)}`;
    if (sweep.message !== waiting) await db.update(sweeps).set({ message: waiting }).where(eq(sweeps.id, sweep.id));
    return;
  }
  let suggestions: TrialParams[];
  try {
    suggestions = await suggest(spec, trials, count);
  } catch (err) {
    if (err instanceof AppError) return endSweep(db, sweep, ["running"], "failed", err.message);
    throw err;
  }
  let number = nextNumber(trials);
  for (const params of suggestions) {
    try {
      await submitTrial(ctx, sweep, number, params);
      number += 1;
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      if (err.code === "rate_limited" || err.code === "budget_exceeded") {
        await db.update(sweeps).set({ message: `waiting to submit trial ${number}: ${err.message}` }).where(eq(sweeps.id, sweep.id));
        return;
      }
      if (err.code === "conflict") return; // paused or stopped meanwhile
      // The job template no longer fits (quota lowered, experiment archived, access lost): no trial could run.
      return endSweep(db, sweep, ["running"], "failed", `trial ${number} could not be submitted: ${err.message}`);
    }
  }
  if (sweep.message?.startsWith("waiting to submit")) await db.update(sweeps).set({ message: null }).where(eq(sweeps.id, sweep.id));
}
