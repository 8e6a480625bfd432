// Training jobs: submit (validate, price, check the quota, create the run), list, get, cancel, logs.
// Admission and execution live in scheduler.ts.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { and, desc, eq, inArray, lt, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { DbOrTx } from "@/db/client";
import { codeArchives, jobEvents, jobs, runs, teamQuotas } from "@/db/schema";
import type { FailureCause, JobSpec, JobStatus } from "@/db/schema";
import { PRIORITIES } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import type { TrainJobInput } from "@/lib/schemas/jobs";
import type { BudgetNote } from "@/lib/schemas/costs";
import { assertStorageRoom } from "../artifacts/usage";
import { budgetStates, refusedFor, stepMessage } from "../costs/budget";
import { budgetDetail, checkBudget } from "../costs/budget-service";
import { appendAudit, denied, recordAudit } from "../audit/record";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { env } from "../env";
import { AppError } from "../errors";
import { currentTraceparent, withSpan } from "../observability/tracing";
import { homeTeam, loadExperiment } from "../tracking/access";
import { artifactStore } from "../tracking/artifacts";
import { insertRun } from "../tracking/runs";
import type { CodeArchiveRow } from "./code-archives";
import { isArchiveId, teamCodeArchive } from "./code-archives";
import { wake } from "../workers/registry";
import { publishJobChange } from "./events";
import { setRunStatus } from "./run-status";
import { activeUsage, catalog, neverFits, resolveResources, waitReason } from "./resources";

export type JobDto = {
  job_id: string;
  name: string;
  team: string;
  user: string;
  status: JobStatus;
  queue_reason: string | null;
  message: string | null;
  run_id: string;
  experiment_id: string;
  /** A built-in example ("examples/churn"), an uploaded code archive's id, or null. */
  source: string | null;
  /** The uploaded archive `source` names; download its content at /api/v1/jobs/{id}/code. */
  code_archive: { id: string; filename: string; format: "zip" | "tar.gz"; files: number; size_bytes: number } | null;
  command: string[];
  image: string | null;
  resources: { cpu: number; memory_gib: number; gpus: number; gpu_type: string | null; instance_type: string | null };
  priority: keyof typeof PRIORITIES;
  max_runtime_seconds: number;
  retries: number;
  attempt: number;
  exit_code: number | null;
  /**
   * A failed job's cause as read from its log and exit when its last attempt ended (server/jobs/failure-cause.ts):
   * `line` is its 1-based line in the log. Null unless failed, and for failures before a process ran (`message` says why).
   */
  failure: FailureCause | null;
  hourly_price_usd: number;
  cost_so_far: number;
  runtime_seconds: number;
  queued_at: string;
  admitted_at: string | null;
  started_at: string | null;
  finished_at: string | null;
};

type ArchiveSummary = NonNullable<JobDto["code_archive"]>;
type JobRow = typeof jobs.$inferSelect & { team: string; codeArchive?: ArchiveSummary | null };

const PRIORITY_NAMES = Object.fromEntries(Object.entries(PRIORITIES).map(([k, v]) => [v, k])) as Record<number, keyof typeof PRIORITIES>;

export function runtimeSeconds(row: typeof jobs.$inferSelect, now = Date.now()): number {
  const current = row.status === "running" && row.startedAt ? Math.max(0, (now - row.startedAt.getTime()) / 1000) : 0;
  return row.runSeconds + current;
}

export function jobDto(row: JobRow, now = Date.now()): JobDto {
  const seconds = runtimeSeconds(row, now);
  return {
    job_id: row.id,
    name: row.name,
    team: row.team,
    user: row.userEmail,
    status: row.status,
    queue_reason: row.status === "queued" ? row.queueReason : null,
    message: row.message,
    run_id: row.runId,
    experiment_id: String(row.experimentId),
    source: row.spec.source,
    code_archive: row.codeArchive ?? null,
    command: row.spec.command,
    image: row.spec.image,
    resources: { cpu: row.cpu, memory_gib: row.memoryGib, gpus: row.gpus, gpu_type: row.gpuType, instance_type: row.spec.instance_type },
    priority: PRIORITY_NAMES[row.priority] ?? "normal",
    max_runtime_seconds: row.spec.max_runtime_seconds,
    retries: row.spec.retries,
    attempt: row.attempt,
    exit_code: row.exitCode,
    failure: row.status === "failed" ? (row.failureCause ?? null) : null,
    hourly_price_usd: Number(row.hourlyPriceUsd),
    cost_so_far: Math.round(Number(row.hourlyPriceUsd) * (seconds / 3600) * 10_000) / 10_000,
    runtime_seconds: Math.round(seconds),
    queued_at: row.queuedAt.toISOString(),
    admitted_at: row.admittedAt?.toISOString() ?? null,
    started_at: row.startedAt?.toISOString() ?? null,
    finished_at: row.finishedAt?.toISOString() ?? null,
  };
}

// ---------------------------------------------------------------------------------------------------
// Code sources: the built-in examples (examples/<name>, with their default command in cairn.json).

const EXAMPLE = /^examples\/([a-z0-9][a-z0-9-]{0,63})\/?$/;

export function examplesRoot(): string {
  return path.resolve(process.cwd(), "examples");
}

export type CodeSource = { source: string; dir: string; defaultCommand: string[] | null };

export function resolveSource(source: string | undefined): CodeSource | null {
  if (source === undefined || source === "") return null;
  const m = EXAMPLE.exec(source.trim());
  if (!m) {
    throw unknownSource(source);
  }
  const dir = path.join(examplesRoot(), m[1]!);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new AppError("invalid_input", `There is no built-in example "${source}". Available: ${listExamples().map((e) => `examples/${e}`).join(", ") || "none"}.`, { fields: { source: ["Unknown example"] } });
  }
  let defaultCommand: string[] | null = null;
  const manifest = path.join(dir, "cairn.json");
  if (existsSync(manifest)) {
    const parsed = JSON.parse(readFileSync(manifest, "utf8")) as { command?: unknown };
    if (Array.isArray(parsed.command) && parsed.command.every((c) => typeof c === "string")) defaultCommand = parsed.command as string[];
  }
  return { source: `examples/${m[1]}`, dir, defaultCommand };
}

function unknownSource(source: string, team?: string): AppError {
  const upload = team ? `the id of a code archive uploaded to team ${team}` : "the id of a code archive uploaded to your team";
  return new AppError("invalid_input", `Unknown code source "${source}". Use a built-in example such as "examples/churn", or ${upload} (POST /api/v1/code-archives).`, { fields: { source: ["Unknown source"] } });
}

/** What a job runs: a built-in example, or one of its own team's code archives (another team's is unknown). */
export type JobCode = { source: string; label: string; defaultCommand: string[] | null; archive: CodeArchiveRow | null };

export async function resolveJobCode(ctx: Ctx, team: { id: string; slug: string }, source: string | undefined): Promise<JobCode | null> {
  if (source !== undefined && isArchiveId(source.trim())) {
    const archive = await teamCodeArchive(ctx.db, team.id, source.trim().toLowerCase());
    if (!archive) throw unknownSource(source, team.slug);
    return { source: archive.id, label: archive.filename, defaultCommand: archive.defaultCommand, archive };
  }
  const example = resolveSource(source);
  return example && { source: example.source, label: example.source, defaultCommand: example.defaultCommand, archive: null };
}

export function listExamples(): string[] {
  const root = examplesRoot();
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, "cairn.json")))
    .map((d) => d.name)
    .sort();
}

// ---------------------------------------------------------------------------------------------------

/**
 * What a caller that submits jobs on behalf of something else (a sweep's trial) adds: the run's name and tags, and
 * more rows written in the submit's own transaction (so the job and what points at it commit together).
 */
export type SubmitExtras = {
  runName?: string;
  tags?: { key: string; value: string }[];
  onCreated?: (tx: DbOrTx, job: { jobId: string; runId: string }) => Promise<void>;
};

/**
 * Submits a new training job. `extras.retryOf`: a user's retry of an ended job (recorded with the audit row). Every
 * submit, retries included, passes the budget check — only the scheduler's own attempts of a job already submitted
 * are not new work — and its answer carries the `budget` note (null under every line).
 */
export function submitJob(ctx: Ctx, experimentId: string, input: TrainJobInput, extras: SubmitExtras & { retryOf?: string } = {}): Promise<JobDto & { budget: BudgetNote | null }> {
  // The job keeps this span's traceparent: the scheduler's dispatch, later and maybe in another process, joins the trace.
  return withSpan("job.submit", {}, async (span) => {
    const job = await submitJobNow(ctx, experimentId, input, extras);
    span.setAttributes({ "cairn.job.id": job.job_id, "cairn.team": job.team });
    return job;
  });
}

async function submitJobNow(ctx: Ctx, experimentId: string, input: TrainJobInput, extras: SubmitExtras & { retryOf?: string }): Promise<JobDto & { budget: BudgetNote | null }> {
  const exp = await loadExperiment(ctx, experimentId, { mode: "write", permission: "train_model", action: "job.submit" });
  if (input.team) {
    const named = await homeTeam(ctx, input.team);
    if (named.id !== exp.teamId) throw new AppError("invalid_input", `Experiment ${exp.id} belongs to team ${exp.teamSlug}, not ${named.slug}.`, { fields: { team: ["Does not own the experiment"] } });
  }
  if (exp.lifecycleStage !== "active") throw new AppError("invalid_input", `Experiment ${exp.name} is archived; restore it before training in it.`);
  const code = await resolveJobCode(ctx, { id: exp.teamId, slug: exp.teamSlug }, input.source);
  const command = input.command ?? code?.defaultCommand;
  if (!command) {
    const why = code?.archive ? `${code.label} has no default command (no cairn.json with a "command" at its root); give command.` : `${code?.label} has no default command; give command.`;
    throw new AppError("invalid_input", code ? why : "Give a command to run, or a built-in example as source (e.g. \"examples/churn\").", { fields: { command: ["Required"] } });
  }
  const [quota] = await ctx.db.select().from(teamQuotas).where(eq(teamQuotas.teamId, exp.teamId));
  const resolved = resolveResources(await catalog(ctx.db), input, quota?.limitRange?.default_request);
  if (!quota) throw new AppError("quota_exceeded", `Team ${exp.teamSlug} has no quota yet; an admin must set one before it can run jobs.`);
  const never = neverFits(exp.teamSlug, resolved, quota);
  if (never) {
    await recordAudit(ctx, { action: "job.submit", target: `experiment:${exp.id}`, teamId: exp.teamId, team: exp.teamSlug, outcome: "denied", details: { reason: "quota_exceeded", message: never } });
    throw new AppError("quota_exceeded", `Quota exceeded: ${never}. Ask for less, or ask an admin to raise the quota.`, { fields: { resources: [never] } });
  }
  // A user's retry of an ended job starts a whole new job: it passes the budget like any submit (only the
  // scheduler's own attempts of a job already submitted are not new work).
  const budget = await checkBudget(ctx, { id: exp.teamId, slug: exp.teamSlug }, { action: "job.submit", target: `experiment:${exp.id}` });
  const name = input.name ?? (code ? `${code.archive ? code.label : code.source.split("/")[1]} on ${resolved.instanceType ?? `${resolved.cpu} CPU`}` : command.join(" ").slice(0, 80));
  const traceparent = currentTraceparent();
  const spec: JobSpec = {
    source: code?.source ?? null, command, image: input.image ?? null, env: input.env, instance_type: resolved.instanceType,
    priority: input.priority, max_runtime_seconds: input.max_runtime_seconds, retries: input.retries,
    ...(traceparent ? { traceparent } : {}),
  };
  if (code?.archive) await assertStorageRoom(ctx.db, artifactStore(), { id: exp.teamId, slug: exp.teamSlug }, code.archive.sizeBytes);
  // Intent, in one transaction: the run, the job (queued), its first event, the run's job tag and the audit
  // rows. The scheduler (a worker) admits and dispatches it; this request starts nothing.
  const row = await ctx.db.transaction(async (tx) => {
    // The team's waiting jobs are counted under its quota row, so racing submits cannot pass the limit.
    await tx.select({ teamId: teamQuotas.teamId }).from(teamQuotas).where(eq(teamQuotas.teamId, exp.teamId)).for("update");
    const [{ waiting }] = (await tx.select({ waiting: sql<number>`count(*)::int` }).from(jobs).where(and(eq(jobs.teamId, exp.teamId), inArray(jobs.status, ["queued", "admitted"])))) as [{ waiting: number }];
    const limit = env().maxWaitingJobsPerTeam;
    if (waiting >= limit) {
      throw new AppError("rate_limited", `Team ${exp.teamSlug} already has ${waiting} jobs waiting to start, the most a team may queue (CAIRN_MAX_WAITING_JOBS_PER_TEAM); cancel some or wait for them to start.`, { retryAfterSeconds: 60 });
    }
    if (code?.archive) {
      // Held until the job row is in: a delete of the archive (which locks the row for update) waits, then sees the job.
      const [still] = await tx.select({ id: codeArchives.id }).from(codeArchives).where(and(eq(codeArchives.id, code.archive.id), eq(codeArchives.teamId, exp.teamId))).for("share");
      if (!still) throw new AppError("conflict", `Code archive ${code.archive.id} (${code.label}) was deleted while the job was being submitted; upload it again.`);
    }
    const run = await insertRun({ ...ctx, db: tx }, {
      experiment_id: String(exp.id), run_name: extras.runName,
      tags: [
        { key: "mlflow.source.name", value: code?.label ?? command[0]! },
        { key: "mlflow.source.type", value: "JOB" },
        { key: "cairn.instance_type", value: resolved.instanceType ?? "custom" },
        ...(code?.archive ? [{ key: "cairn.code_archive", value: code.archive.id }] : []),
        ...(extras.tags ?? []),
      ],
    });
    await tx.update(runs).set({ status: "SCHEDULED" }).where(eq(runs.id, run.id));
    const [created] = await tx
      .insert(jobs)
      .values({
        teamId: exp.teamId, experimentId: exp.id, runId: run.id, userId: ctx.actor.userId, userEmail: ctx.actor.email, name, spec,
        cpu: resolved.cpu, memoryGib: resolved.memoryGib, gpus: resolved.gpus, gpuType: resolved.gpuType, hourlyPriceUsd: resolved.hourlyPriceUsd,
        priority: PRIORITIES[input.priority], status: "queued", queueReason: "waiting for the scheduler",
      })
      .returning();
    await tx.insert(jobEvents).values({ jobId: created!.id, status: "queued", message: `submitted by ${ctx.actor.email}` });
    await tx.execute(sql`insert into run_tags (run_id, key, value) values (${run.id}, 'cairn.job_id', ${created!.id}) on conflict do nothing`);
    await extras.onCreated?.(tx, { jobId: created!.id, runId: run.id });
    await appendAudit(tx, ctx, {
      action: "job.submit", target: `job:${created!.id}`, teamId: exp.teamId, team: exp.teamSlug,
      details: { experiment_id: exp.id, run_id: run.id, source: spec.source, instance_type: spec.instance_type, gpus: resolved.gpus, ...(extras.retryOf ? { retry_of: extras.retryOf } : {}), ...budgetDetail(budget) },
    });
    return created!;
  });
  publishJobChange({ job_id: row.id, team_id: row.teamId, status: "queued", attempt: 0 });
  wake("jobs");
  return { ...(await getJob(ctx, row.id)), budget };
}

async function jobRows(ctx: Ctx, where: SQL | undefined, limit = 100): Promise<JobRow[]> {
  const rows = await ctx.db
    .select({ job: jobs, team: sql<string>`(select slug from teams where teams.id = ${jobs.teamId})` })
    .from(jobs)
    .where(where)
    .orderBy(desc(jobs.queuedAt), desc(jobs.id))
    .limit(limit);
  // The archives jobs name as their source, in one query (scoped to each job's own team).
  const archiveIds = [...new Set(rows.flatMap((r) => (r.job.spec.source && isArchiveId(r.job.spec.source) ? [r.job.spec.source] : [])))];
  const archives = archiveIds.length
    ? await ctx.db
        .select({ id: codeArchives.id, teamId: codeArchives.teamId, filename: codeArchives.filename, format: codeArchives.format, files: codeArchives.files, size_bytes: codeArchives.sizeBytes })
        .from(codeArchives)
        .where(inArray(codeArchives.id, archiveIds))
    : [];
  const byId = new Map(archives.map(({ teamId, ...a }) => [`${teamId}/${a.id}`, a]));
  return rows.map((r) => ({ ...r.job, team: r.team, codeArchive: r.job.spec.source ? (byId.get(`${r.job.teamId}/${r.job.spec.source}`) ?? null) : null }));
}


export async function loadJob(ctx: Ctx, id: string, access: { mode: "read" } | { mode: "write"; action: string }): Promise<JobRow> {
  const missing = `Job ${id} was not found.`;
  const [row] = UUID.test(id) ? await jobRows(ctx, eq(jobs.id, id), 1) : [];
  if (!row) throw new AppError("not_found", missing);
  if (!can(ctx.actor, "read_data", row.teamId)) {
    throw await denied(ctx, { action: "job.read", target: `job:${id}`, teamId: row.teamId, team: row.team, mode: "read", message: missing });
  }
  if (access.mode === "write") {
    // Members act on their own jobs; team leads (manage_team) on any job of the team.
    const own = ctx.actor.userId !== null && row.userId === ctx.actor.userId && can(ctx.actor, "train_model", row.teamId);
    if (!own && !can(ctx.actor, "manage_team", row.teamId)) {
      throw await denied(ctx, { action: access.action, target: `job:${id}`, teamId: row.teamId, team: row.team, mode: "write", message: `Only ${row.userEmail} or a team lead of ${row.team} can do this to job ${id}.` });
    }
  }
  return row;
}

export async function getJob(ctx: Ctx, id: string): Promise<JobDto> {
  return jobDto(await loadJob(ctx, id, { mode: "read" }));
}

/** The job that produced a run (its newest, if it was retried into the same run), or null: the run page links it by name. */
export async function jobOfRun(ctx: Ctx, runId: string): Promise<{ job_id: string; name: string; status: JobStatus } | null> {
  const teamIds = readableTeamIds(ctx.actor);
  if (teamIds?.length === 0) return null;
  const [row] = await ctx.db
    .select({ job_id: jobs.id, name: jobs.name, status: jobs.status })
    .from(jobs)
    .where(and(eq(jobs.runId, runId), teamIds ? inArray(jobs.teamId, teamIds) : undefined))
    .orderBy(desc(jobs.queuedAt))
    .limit(1);
  return row ?? null;
}

export type JobEventDto = { at: string; status: JobStatus; attempt: number; message: string | null };

export async function getJobEvents(ctx: Ctx, id: string): Promise<JobEventDto[]> {
  const row = await loadJob(ctx, id, { mode: "read" });
  const events = await ctx.db.select().from(jobEvents).where(eq(jobEvents.jobId, row.id)).orderBy(jobEvents.id);
  return events.map((e) => ({ at: e.at.toISOString(), status: e.status, attempt: e.attempt, message: e.message }));
}

export async function listJobs(ctx: Ctx, input: { team?: string; status?: JobStatus; page_token?: string; limit: number; experiment_id?: string }): Promise<{ jobs: JobDto[]; next_page_token: string | null }> {
  const teamIds = input.team ? [(await homeTeam(ctx, input.team)).id] : readableTeamIds(ctx.actor);
  if (teamIds?.length === 0) return { jobs: [], next_page_token: null };
  const before = input.page_token ? decodeCursor(input.page_token) : undefined;
  const rows = await jobRows(ctx, and(
    teamIds ? inArray(jobs.teamId, teamIds) : undefined,
    input.status ? eq(jobs.status, input.status) : undefined,
    input.experiment_id ? eq(jobs.experimentId, Number(input.experiment_id)) : undefined,
    before ? lt(jobs.queuedAt, before) : undefined,
  ), input.limit + 1);
  const page = rows.slice(0, input.limit);
  const last = page.at(-1);
  return { jobs: page.map((r) => jobDto(r)), next_page_token: rows.length > input.limit && last ? Buffer.from(last.queuedAt.toISOString()).toString("base64url") : null };
}

function decodeCursor(token: string): Date {
  const d = new Date(Buffer.from(token, "base64url").toString("utf8"));
  if (Number.isNaN(d.getTime())) throw new AppError("invalid_input", "Invalid page_token; pass the next_page_token of a previous answer.");
  return d;
}

/**
 * Cancel, as intent: a job not yet running ends at once (nothing runs for it); a running one is marked, and the
 * scheduler stops its attempt, whose exit records it as cancelled.
 */
async function requestCancel(ctx: Ctx, job: JobRow): Promise<void> {
  const now = new Date();
  const ended = await ctx.db.transaction(async (tx) => {
    // The row is locked first and the cancel follows the status it has now: a scheduler pass that moves the job
    // meanwhile (admits it, starts it, or requeues a failed attempt for a retry) either committed before, and is
    // seen here, or waits for this transaction. Two statements each with its own status filter could both miss
    // a job that went running → queued between them, and the cancel was lost.
    const [current] = await tx.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, job.id)).for("update");
    if (current?.status === "running") {
      await tx.update(jobs).set({ cancelRequested: 1, message: `cancel requested by ${ctx.actor.email}` }).where(eq(jobs.id, job.id));
    }
    const [row] = current?.status === "queued" || current?.status === "admitted"
      ? await tx.update(jobs).set({ status: "cancelled", finishedAt: now, queueReason: null, message: `cancelled by ${ctx.actor.email}` }).where(eq(jobs.id, job.id)).returning()
      : [];
    if (row) {
      await tx.insert(jobEvents).values({ jobId: job.id, status: "cancelled", attempt: row.attempt, message: `cancelled by ${ctx.actor.email} before it started` });
      await setRunStatus(tx, row.runId, "KILLED", now);
    }
    await appendAudit(tx, ctx, { action: "job.cancel", target: `job:${job.id}`, teamId: job.teamId, team: job.team });
    return row ?? null;
  });
  if (ended) publishJobChange({ job_id: job.id, team_id: job.teamId, status: "cancelled", attempt: ended.attempt, message: `cancelled by ${ctx.actor.email}` });
  wake("jobs");
}

export async function cancelJob(ctx: Ctx, id: string): Promise<JobDto> {
  const row = await loadJob(ctx, id, { mode: "write", action: "job.cancel" });
  if (row.status === "succeeded" || row.status === "failed" || row.status === "cancelled") {
    throw new AppError("conflict", `Job ${id} already ${row.status}; there is nothing to cancel.`);
  }
  await requestCancel(ctx, row);
  return getJob(ctx, id);
}

/**
 * Runs a finished job again: a new job (and run) in the same experiment with the same spec — code, command,
 * image, env, resources, priority, limits — submitted by the actor, through the same checks as any submit
 * (today's quota, limit range and catalog apply). Allowed to the job's own user and the team's leads.
 */
export async function retryJob(ctx: Ctx, id: string): Promise<JobDto> {
  // Like cancel: the job's own user or a team lead — a retry reuses the job's env, which may hold its user's
  // secrets. Anyone else in the team clones it instead (the launch form starts with an empty env).
  const row = await loadJob(ctx, id, { mode: "write", action: "job.retry" });
  if (row.status !== "succeeded" && row.status !== "failed" && row.status !== "cancelled") {
    throw new AppError("conflict", `Job ${id} is ${row.status}; retry it once it has ended (or cancel it first).`);
  }
  const spec = row.spec;
  const input = trainJobSchema.parse({
    ...(spec.source ? { source: spec.source } : {}),
    command: spec.command,
    ...(spec.image ? { image: spec.image } : {}),
    env: spec.env,
    ...(spec.instance_type ? { instance_type: spec.instance_type, gpus: row.gpus } : { resources: { cpu: row.cpu, memory_gib: row.memoryGib, gpus: row.gpus } }),
    priority: spec.priority,
    max_runtime_seconds: spec.max_runtime_seconds,
    retries: spec.retries,
    name: row.name.slice(0, 200),
  });
  return submitJob(ctx, String(row.experimentId), input, { retryOf: row.id });
}

export function jobDir(jobId: string): string {
  return path.join(env().dataDir, "jobs", jobId);
}

export function jobLogFile(jobId: string): string {
  return path.join(jobDir(jobId), "output.log");
}

export type JobPreview = {
  team: string;
  resources: { cpu: number; memory_gib: number; gpus: number; gpu_type: string | null; instance_type: string | null };
  hourly_price_usd: number;
  max_cost_usd: number;
  quota: { cpu: number; memory_gib: number; gpus: number; max_concurrent_jobs: number } | null;
  used: { cpu: number; memory_gib: number; gpus: number; jobs: number };
  queued_ahead: number;
  outcome: "runs" | "queues" | "refused";
  reason: string | null;
};

/** What the launch form shows before submitting: price, the team's headroom, and whether the job would wait. */
export async function previewJob(ctx: Ctx, experimentId: string, input: TrainJobInput): Promise<JobPreview> {
  const exp = await loadExperiment(ctx, experimentId, { mode: "read" });
  const [quota] = await ctx.db.select().from(teamQuotas).where(eq(teamQuotas.teamId, exp.teamId));
  const resolved = resolveResources(await catalog(ctx.db), input, quota?.limitRange?.default_request);
  const [ahead] = await ctx.db
    .select({ n: sql<number>`count(*)` })
    .from(jobs)
    .where(and(eq(jobs.teamId, exp.teamId), eq(jobs.status, "queued"), sql`${jobs.priority} >= ${PRIORITIES[input.priority]}`));
  const used = (await activeUsage(ctx.db, [exp.teamId])).get(exp.teamId)!;
  const queuedAhead = Number(ahead?.n ?? 0);
  // The team's budget step as the submit will meet it (read only: the submit records it).
  const [budget] = await budgetStates(ctx.db, [exp.teamId]);
  let outcome: JobPreview["outcome"] = "runs";
  let reason: string | null = null;
  if (budget && budget.step !== "ok" && refusedFor(ctx.actor, budget)) {
    outcome = "refused";
    reason = stepMessage(budget, budget.step);
  } else if (!quota) {
    outcome = "refused";
    reason = `team ${exp.teamSlug} has no quota yet`;
  } else if ((reason = neverFits(exp.teamSlug, resolved, quota))) {
    outcome = "refused";
  } else if ((reason = waitReason(exp.teamSlug, resolved, quota, used))) {
    outcome = "queues";
  } else if (queuedAhead > 0) {
    outcome = "queues";
    reason = `${queuedAhead} job${queuedAhead === 1 ? " is" : "s are"} already waiting in team ${exp.teamSlug}'s queue at this priority or higher`;
  }
  return {
    team: exp.teamSlug,
    resources: { cpu: resolved.cpu, memory_gib: resolved.memoryGib, gpus: resolved.gpus, gpu_type: resolved.gpuType, instance_type: resolved.instanceType },
    hourly_price_usd: resolved.hourlyPriceUsd,
    max_cost_usd: Math.round(resolved.hourlyPriceUsd * (input.max_runtime_seconds / 3600) * 100) / 100,
    quota: quota ? { cpu: quota.cpu, memory_gib: quota.memoryGib, gpus: quota.gpus, max_concurrent_jobs: quota.maxConcurrentJobs } : null,
    used: { cpu: used.cpu, memory_gib: used.memoryGib, gpus: used.gpus, jobs: used.jobs },
    queued_ahead: queuedAhead,
    outcome,
    reason,
  };
}
