// Runs: create, read, update, archive/restore, and their tags. Logging lives in logging.ts.
import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { experiments, runTags, runs } from "@/db/schema";
import type { RunStatus } from "@/db/schema";
import type { CreateRunInput } from "@/lib/schemas/mlflow";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { DEFAULT_EXPERIMENT, homeTeam, loadExperiment, loadExperimentToCreateIn, loadRun, requireActiveRun } from "./access";
import type { RunDto } from "./dto";
import { experimentArtifactLocation, runArtifactUri } from "./dto";
import { hydrateRuns } from "./hydrate";
import { recordKeys } from "./keys";
import type { PendingRun } from "./run-create-batch";
import { createRunBatched, experimentChanged } from "./run-create-batch";
import { forgetExperiment } from "./experiment-refs";
import { generateRunName } from "./run-names";

export const TRAIN = { mode: "write", permission: "train_model", action: "run.update" } as const;

export function newRunId(): string {
  return randomUUID().replace(/-/g, "");
}

/** MLflow's experiment "0" is each team's own Default experiment, created on first use. */
async function defaultExperimentId(ctx: Ctx): Promise<number> {
  const team = await homeTeam(ctx);
  const [existing] = await ctx.db.select({ id: experiments.id }).from(experiments).where(and(eq(experiments.teamId, team.id), eq(experiments.name, DEFAULT_EXPERIMENT)));
  if (existing) return existing.id;
  if (!can(ctx.actor, "train_model", team.id)) {
    throw await denied(ctx, { action: "experiment.create", target: `experiment:${DEFAULT_EXPERIMENT}`, teamId: team.id, team: team.slug, mode: "write" });
  }
  const now = Date.now();
  // One transaction, so nobody sees the placeholder location and the creation is audited like any other.
  const created = await ctx.db.transaction(async (tx) => {
    const [row] = await tx
      .insert(experiments)
      .values({ teamId: team.id, name: DEFAULT_EXPERIMENT, artifactLocation: "pending", createdBy: ctx.actor.userId, creationTime: now, lastUpdateTime: now })
      .onConflictDoNothing()
      .returning({ id: experiments.id });
    if (!row) return null;
    await tx.update(experiments).set({ artifactLocation: experimentArtifactLocation(row.id) }).where(eq(experiments.id, row.id));
    await appendAudit(tx, ctx, { action: "experiment.create", target: `experiment:${row.id}`, teamId: team.id, team: team.slug, details: { name: DEFAULT_EXPERIMENT } });
    return row.id;
  });
  return created ?? defaultExperimentId(ctx);
}

/** Times runs/create prepares a run again from the database when its write finds the experiment changed. */
const CREATE_ATTEMPTS = 3;

export async function createRun(ctx: Ctx, input: CreateRunInput): Promise<RunDto> {
  // Inside a caller's transaction the run is written in it; otherwise with the concurrent creates of this process.
  if ("rollback" in ctx.db) return (await hydrateRuns(ctx.db, [(await writeRun(await prepareRun(ctx, input))).id]))[0]!;
  for (let attempt = 1; ; attempt++) {
    // The first attempt may take the experiment from memory; the write checks it is still active in that team.
    const pending = await prepareRun(ctx, input, attempt === 1);
    try {
      return JSON.parse(await createRunBatched(pending)) as RunDto;
    } catch (err) {
      if (!experimentChanged(err)) throw err;
      forgetExperiment(pending.row.experimentId);
      if (attempt >= CREATE_ATTEMPTS) throw new AppError("conflict", `The experiment ${pending.row.experimentId} changed while the run was being created in it; try again.`);
    }
  }
}

/** Creates the run (as createRun) in `ctx.db` (a transaction the caller holds) and returns its row — for callers that only need the id. */
export async function insertRun(ctx: Ctx, input: CreateRunInput): Promise<typeof runs.$inferSelect> {
  return writeRun(await prepareRun(ctx, input));
}

/** Authorizes the create and works out the run's row, tags and audit event; writes nothing. */
async function prepareRun(ctx: Ctx, input: CreateRunInput, remembered = false): Promise<PendingRun> {
  const experimentId = !input.experiment_id || input.experiment_id === "0" ? await defaultExperimentId(ctx) : Number(input.experiment_id);
  const access = { ...TRAIN, action: "run.create" };
  const exp = remembered ? await loadExperimentToCreateIn(ctx, experimentId, access) : await loadExperiment(ctx, experimentId, access);
  if (exp.lifecycleStage !== "active") throw new AppError("invalid_input", `The experiment ${exp.id} must be in the 'active' state to create runs in it.`);
  const tags = new Map(input.tags.map((t) => [t.key, t.value]));
  const name = input.run_name || tags.get("mlflow.runName") || generateRunName();
  tags.set("mlflow.runName", name);
  const userId = input.user_id || (ctx.actor.kind === "user" || ctx.actor.kind === "token" ? ctx.actor.email : "system");
  if (!tags.has("mlflow.user")) tags.set("mlflow.user", userId);
  const parentRunId = tags.get("mlflow.parentRunId");
  if (parentRunId) {
    const parent = await loadRun(ctx, parentRunId, { mode: "read" }).catch(() => null);
    if (!parent || parent.experimentId !== exp.id) throw new AppError("invalid_input", `Parent run ${parentRunId} was not found in experiment ${exp.id}.`);
  }
  const id = newRunId();
  return {
    ctx,
    row: {
      id, experimentId: exp.id, teamId: exp.teamId, name, status: "RUNNING", startTime: input.start_time ?? Date.now(),
      userId, createdBy: ctx.actor.userId, parentRunId: parentRunId ?? null, artifactUri: runArtifactUri(exp.id, id),
    },
    tags: [...tags],
    audit: { action: "run.create", target: `run:${id}`, teamId: exp.teamId, team: exp.teamSlug, details: { experiment_id: exp.id, name } },
  };
}

/** Writes one prepared run, its tags and its audit event in one transaction (nested in the caller's, if any). */
async function writeRun({ ctx, row: values, tags, audit }: PendingRun): Promise<typeof runs.$inferSelect> {
  const row = await ctx.db.transaction(async (tx) => {
    const [created] = await tx.insert(runs).values(values).returning();
    await tx.insert(runTags).values([...tags].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, value]) => ({ runId: values.id, key, value })));
    await tx.update(experiments).set({ lastUpdateTime: Date.now() }).where(eq(experiments.id, values.experimentId));
    await appendAudit(tx, ctx, audit);
    return created!;
  });
  await recordKeys(ctx.db, values.experimentId, "tag", tags.map(([k]) => k));
  return row;
}

export async function getRun(ctx: Ctx, runId: string): Promise<RunDto> {
  await loadRun(ctx, runId, { mode: "read" });
  const [dto] = await hydrateRuns(ctx.db, [runId]);
  // Deleted for good between the two reads: as if it never was.
  if (!dto) throw new AppError("not_found", `Run with id=${runId} not found`);
  return dto;
}

const TERMINAL: RunStatus[] = ["FINISHED", "FAILED", "KILLED"];

export async function updateRun(ctx: Ctx, input: { run_id: string; status?: RunStatus; end_time?: number; run_name?: string }): Promise<RunDto["info"]> {
  const run = await loadRun(ctx, input.run_id, TRAIN);
  requireActiveRun(run);
  await ctx.db.transaction(async (tx) => {
    const set: Partial<typeof runs.$inferInsert> = {};
    if (input.status) set.status = input.status;
    if (input.end_time !== undefined) set.endTime = input.end_time;
    else if (input.status && TERMINAL.includes(input.status)) set.endTime = Date.now();
    if (input.run_name) set.name = input.run_name;
    if (Object.keys(set).length) await tx.update(runs).set(set).where(eq(runs.id, run.runId));
    if (input.run_name) {
      await tx.insert(runTags).values({ runId: run.runId, key: "mlflow.runName", value: input.run_name })
        .onConflictDoUpdate({ target: [runTags.runId, runTags.key], set: { value: input.run_name } });
    }
    if (input.status && input.status !== run.status) {
      await appendAudit(tx, ctx, { action: "run.status", target: `run:${run.runId}`, teamId: run.teamId, team: run.teamSlug, details: { from: run.status, to: input.status } });
    }
  });
  return (await getRun(ctx, run.runId)).info;
}

export async function setRunLifecycle(ctx: Ctx, runId: string, stage: "active" | "deleted"): Promise<void> {
  const action = stage === "deleted" ? "run.delete" : "run.restore";
  const run = await loadRun(ctx, runId, { ...TRAIN, action });
  if (stage === "active" && run.lifecycleStage !== "active") throw new AppError("invalid_input", `Restore experiment ${run.experimentId} before restoring its runs.`);
  await ctx.db.transaction(async (tx) => {
    await tx.update(runs).set({ lifecycleStage: stage, deletedTime: stage === "deleted" ? Date.now() : null }).where(eq(runs.id, run.runId));
    await appendAudit(tx, ctx, { action, target: `run:${run.runId}`, teamId: run.teamId, team: run.teamSlug });
  });
}

export async function setRunTag(ctx: Ctx, runId: string, key: string, value: string): Promise<void> {
  const run = await loadRun(ctx, runId, TRAIN);
  requireActiveRun(run);
  await ctx.db.transaction(async (tx) => {
    await tx.insert(runTags).values({ runId, key, value }).onConflictDoUpdate({ target: [runTags.runId, runTags.key], set: { value } });
    if (key === "mlflow.runName") await tx.update(runs).set({ name: value }).where(eq(runs.id, runId));
  });
  await recordKeys(ctx.db, run.experimentId, "tag", [key]);
}

export async function deleteRunTag(ctx: Ctx, runId: string, key: string): Promise<void> {
  const run = await loadRun(ctx, runId, TRAIN);
  requireActiveRun(run);
  const deleted = await ctx.db.delete(runTags).where(and(eq(runTags.runId, runId), eq(runTags.key, key))).returning({ key: runTags.key });
  if (deleted.length === 0) throw new AppError("not_found", `No tag with name: ${key} in run with id ${runId}`);
}
