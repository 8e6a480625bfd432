// Sweeps as intent: create (validate the space and the trials' job, make the parent run), read with trials, pause,
// resume, stop, register the best trial. Nothing here submits a trial: the sweep driver does (server/workers/sweep-driver.ts).
import { randomInt, randomUUID } from "node:crypto";
import { and, desc, eq, inArray } from "drizzle-orm";
import { jobs, runs, sweeps, sweepTrials, teams } from "@/db/schema";
import type { SweepSpec, SweepState } from "@/db/schema";
import { UUID } from "@/lib/ids";
import type { CreateSweepInput, SweepCapabilities, SweepDto, SweepTrialDto } from "@/lib/schemas/sweeps";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { checkBudget } from "../costs/budget-service";
import { AppError } from "../errors";
import { previewJob, resolveJobCode } from "../jobs/service";
import type { ModelVersionDto } from "../registry/dto";
import { registerFromRun } from "../registry/register";
import { loadExperiment } from "../tracking/access";
import { insertRun } from "../tracking/runs";
import { wake } from "../workers/registry";
import { OPTUNA_HELP, bayesianAvailability } from "./optuna";
import { gridSize } from "./space";
import { trialView } from "./trials";

export type SweepRow = typeof sweeps.$inferSelect & { team: string };

export async function sweepCapabilities(): Promise<SweepCapabilities> {
  return { bayesian: await bayesianAvailability() };
}

export async function createSweep(ctx: Ctx, experimentId: string, input: CreateSweepInput): Promise<SweepDto> {
  const exp = await loadExperiment(ctx, experimentId, { mode: "write", permission: "train_model", action: "sweep.create" });
  if (exp.lifecycleStage !== "active") throw new AppError("invalid_input", `Experiment ${exp.name} is archived; restore it before sweeping in it.`);
  // A sweep is new work: past a budget step that holds the user back it is refused like a job (budget_exceeded).
  await checkBudget(ctx, { id: exp.teamId, slug: exp.teamSlug }, { action: "sweep.create", target: `experiment:${exp.id}` });
  if (input.algorithm === "bayesian") {
    const optuna = await bayesianAvailability();
    if (!optuna.available) throw new AppError("invalid_input", `Bayesian search is not available on this server: ${optuna.message}`, { fields: { algorithm: [OPTUNA_HELP] } });
  }
  // The trials' job is checked as a submit would check it, before anything is written.
  const code = await resolveJobCode(ctx, { id: exp.teamId, slug: exp.teamSlug }, input.template.source);
  const command = input.template.command ?? code?.defaultCommand;
  if (!command) throw new AppError("invalid_input", code ? `${code.label} has no default command; give template.command.` : "Give the trials' job a command, or a built-in example as template.source (e.g. \"examples/churn\").", { fields: { "template.command": ["Required"] } });
  const preview = await previewJob(ctx, experimentId, input.template);
  if (preview.outcome === "refused") throw new AppError("quota_exceeded", `A trial could never run: ${preview.reason}. Ask for less, or ask an admin to raise the quota.`, { fields: { "template.resources": [preview.reason ?? "refused"] } });
  const maxTrials = input.algorithm === "grid" ? Math.min(input.max_trials, gridSize(input.space, input.grid_points)) : input.max_trials;
  const spec: SweepSpec = {
    space: input.space, objective: input.objective, algorithm: input.algorithm, max_trials: maxTrials, parallelism: input.parallelism,
    grid_points: input.grid_points, seed: input.seed ?? randomInt(0, 2 ** 31 - 1), early_stopping: input.early_stopping,
    template: {
      source: code?.source ?? null, command, instance_type: input.template.instance_type ?? null, resources: input.template.resources ?? null,
      gpus: input.template.gpus ?? null, env: input.template.env, priority: input.template.priority,
      max_runtime_seconds: input.template.max_runtime_seconds, retries: input.template.retries,
    },
  };
  const id = randomUUID();
  const name = input.name ?? `${input.algorithm} sweep of ${input.objective.metric}`;
  await ctx.db.transaction(async (tx) => {
    const parent = await insertRun({ ...ctx, db: tx }, {
      experiment_id: String(exp.id), run_name: name,
      tags: [{ key: "cairn.sweep_id", value: id }, { key: "mlflow.source.type", value: "SWEEP" }, { key: "mlflow.source.name", value: code?.label ?? command[0]! }],
    });
    await tx.insert(sweeps).values({ id, teamId: exp.teamId, experimentId: exp.id, parentRunId: parent.id, userId: ctx.actor.userId, userEmail: ctx.actor.kind === "user" || ctx.actor.kind === "token" ? ctx.actor.email : "system", name, spec, state: "running" });
    await appendAudit(tx, ctx, { action: "sweep.create", target: `sweep:${id}`, teamId: exp.teamId, team: exp.teamSlug, details: { experiment_id: exp.id, algorithm: spec.algorithm, max_trials: maxTrials, parallelism: spec.parallelism } });
  });
  wake("sweeps");
  return getSweep(ctx, id);
}

export async function loadSweep(ctx: Ctx, id: string, access: { mode: "read" } | { mode: "write"; action: string }): Promise<SweepRow> {
  const missing = `Sweep ${id} was not found.`;
  const [row] = UUID.test(id)
    ? await ctx.db.select({ sweep: sweeps, team: teams.slug }).from(sweeps).innerJoin(teams, eq(teams.id, sweeps.teamId)).where(eq(sweeps.id, id))
    : [];
  if (!row) throw new AppError("not_found", missing);
  const sweep = { ...row.sweep, team: row.team };
  if (!can(ctx.actor, "read_data", sweep.teamId)) {
    throw await denied(ctx, { action: access.mode === "read" ? "sweep.read" : access.action, target: `sweep:${id}`, teamId: sweep.teamId, team: sweep.team, mode: "read", message: missing });
  }
  if (access.mode === "write" && !canControl(ctx, sweep)) {
    throw await denied(ctx, { action: access.action, target: `sweep:${id}`, teamId: sweep.teamId, team: sweep.team, mode: "write", message: `Only ${sweep.userEmail} or a team lead of ${sweep.team} can do this to sweep ${id}.` });
  }
  return sweep;
}

/** Like a job: its own user (still allowed to train) or a team lead. */
function canControl(ctx: Ctx, sweep: SweepRow): boolean {
  const own = ctx.actor.userId !== null && sweep.userId === ctx.actor.userId && can(ctx.actor, "train_model", sweep.teamId);
  return own || can(ctx.actor, "manage_team", sweep.teamId);
}

export async function getSweep(ctx: Ctx, id: string): Promise<SweepDto> {
  const sweep = await loadSweep(ctx, id, { mode: "read" });
  const rows = await ctx.db
    .select({ trial: sweepTrials, jobStatus: jobs.status, queueReason: jobs.queueReason, attempt: jobs.attempt, jobMessage: jobs.message })
    .from(sweepTrials)
    .leftJoin(jobs, eq(jobs.id, sweepTrials.jobId))
    .where(eq(sweepTrials.sweepId, sweep.id))
    .orderBy(sweepTrials.number);
  const trials = rows.map((r) => trialView(r.trial, r.jobStatus ? { status: r.jobStatus, queueReason: r.queueReason, attempt: r.attempt ?? 0, message: r.jobMessage } : null));
  return sweepDto(ctx, sweep, trials);
}

export function bestTrial(spec: SweepSpec, trials: SweepTrialDto[]): SweepTrialDto | null {
  const sign = spec.objective.direction === "minimize" ? 1 : -1;
  let best: SweepTrialDto | null = null;
  for (const t of trials) {
    if (t.state !== "succeeded" || t.objective === null) continue;
    if (!best || sign * t.objective < sign * best.objective!) best = t;
  }
  return best;
}

/**
 * The trial template as answered to anyone in the team: its environment's names only, never the values — they
 * may hold the sweep's user's secrets, and a job's answer hides them the same way.
 */
function templateView(template: SweepRow["spec"]["template"]): Record<string, unknown> {
  const { env: given, ...rest } = template as Record<string, unknown> & { env?: Record<string, string> };
  return { ...rest, env_keys: Object.keys(given ?? {}).sort() };
}

function sweepDto(ctx: Ctx, sweep: SweepRow, trials: SweepTrialDto[]): SweepDto {
  const counts = { waiting: 0, running: 0, succeeded: 0, pruned: 0, failed: 0, cancelled: 0, total: trials.length };
  const reasons = new Map<string, number>();
  for (const t of trials) {
    counts[t.state] += 1;
    if (t.state === "waiting") reasons.set(t.queue_reason ?? "waiting for the scheduler", (reasons.get(t.queue_reason ?? "waiting for the scheduler") ?? 0) + 1);
  }
  const spec = sweep.spec;
  const control = canControl(ctx, sweep);
  return {
    sweep_id: sweep.id, name: sweep.name, team: sweep.team, experiment_id: String(sweep.experimentId), parent_run_id: sweep.parentRunId, user: sweep.userEmail,
    state: sweep.state, message: sweep.message, algorithm: spec.algorithm, objective: spec.objective, space: spec.space, max_trials: spec.max_trials,
    parallelism: spec.parallelism, seed: spec.seed, early_stopping: spec.early_stopping, template: templateView(spec.template),
    counts, waiting_reasons: [...reasons].sort((a, b) => b[1] - a[1]).map(([reason, n]) => ({ reason, trials: n })),
    best_trial: bestTrial(spec, trials), trials,
    created_at: sweep.createdAt.toISOString(), finished_at: sweep.finishedAt?.toISOString() ?? null,
    viewer_can: { control: control && !["finished", "stopped", "failed"].includes(sweep.state), register: can(ctx.actor, "train_model", sweep.teamId) },
  };
}

export type SweepSummary = Pick<SweepDto, "sweep_id" | "name" | "state" | "algorithm" | "objective" | "max_trials" | "created_at"> & { trials: number };

/** The experiment's sweeps, newest first (the experiment page lists them). */
export async function listSweeps(ctx: Ctx, experimentId: string): Promise<SweepSummary[]> {
  const exp = await loadExperiment(ctx, experimentId, { mode: "read" });
  const rows = await ctx.db.select().from(sweeps).where(and(eq(sweeps.teamId, exp.teamId), eq(sweeps.experimentId, exp.id))).orderBy(desc(sweeps.createdAt)).limit(100);
  const counts = rows.length
    ? await ctx.db.select({ sweepId: sweepTrials.sweepId, number: sweepTrials.number }).from(sweepTrials).where(inArray(sweepTrials.sweepId, rows.map((r) => r.id)))
    : [];
  return rows.map((r) => ({
    sweep_id: r.id, name: r.name, state: r.state, algorithm: r.spec.algorithm, objective: r.spec.objective, max_trials: r.spec.max_trials,
    created_at: r.createdAt.toISOString(), trials: counts.filter((c) => c.sweepId === r.id).length,
  }));
}

const TRANSITIONS: Record<"pause" | "resume" | "stop", { from: SweepState[]; to: SweepState }> = {
  pause: { from: ["running"], to: "paused" },
  resume: { from: ["paused"], to: "running" },
  stop: { from: ["running", "paused"], to: "stopping" },
};

/** Pause (no new trials; running ones go on), resume, or stop (running trials are cancelled by the driver, through the jobs' cancel). */
export async function controlSweep(ctx: Ctx, id: string, action: "pause" | "resume" | "stop"): Promise<SweepDto> {
  const sweep = await loadSweep(ctx, id, { mode: "write", action: `sweep.${action}` });
  const { from, to } = TRANSITIONS[action];
  await ctx.db.transaction(async (tx) => {
    const [moved] = await tx.update(sweeps).set({ state: to, message: `${action === "stop" ? "stopped" : `${action}d`} by ${actorEmail(ctx)}` }).where(and(eq(sweeps.id, sweep.id), inArray(sweeps.state, from))).returning({ id: sweeps.id });
    if (!moved) {
      const [now] = await tx.select({ state: sweeps.state }).from(sweeps).where(eq(sweeps.id, sweep.id));
      throw new AppError("conflict", `Sweep ${sweep.name} is ${now?.state ?? sweep.state}; only a ${from.join(" or ")} sweep can be ${action === "stop" ? "stopped" : `${action}d`}.`);
    }
    await appendAudit(tx, ctx, { action: `sweep.${action}`, target: `sweep:${sweep.id}`, teamId: sweep.teamId, team: sweep.team });
  });
  wake("sweeps");
  return getSweep(ctx, id);
}

function actorEmail(ctx: Ctx): string {
  return ctx.actor.kind === "user" || ctx.actor.kind === "token" ? ctx.actor.email : "system";
}

/** Registers the best trial's model (its run's `path`, default "model") as a new version of `name`, through the registry's own path. */
export async function registerBestTrial(ctx: Ctx, id: string, input: { name: string; path: string }): Promise<{ trial: SweepTrialDto; version: ModelVersionDto }> {
  const sweep = await getSweep(ctx, id);
  const best = sweep.best_trial;
  if (!best) throw new AppError("conflict", `Sweep ${sweep.name} has no finished trial that logged ${sweep.objective.metric} yet; register once one has.`);
  const [run] = await ctx.db.select({ id: runs.id }).from(runs).where(and(eq(runs.id, best.run_id), eq(runs.teamId, (await loadSweep(ctx, id, { mode: "read" })).teamId)));
  if (!run) throw new AppError("not_found", `The best trial's run ${best.run_id} was deleted.`);
  const version = await registerFromRun(ctx, { runId: best.run_id, path: input.path, name: input.name, description: `Best trial (#${best.number}) of sweep ${sweep.name}: ${sweep.objective.metric} = ${best.objective}` });
  return { trial: best, version };
}
