// The job scheduler, a worker loop (./runtime.ts): admission and dispatch of training jobs, cancels, and
// convergence of what an earlier leader left running. Requests only commit intent (a queued job, a cancel
// request) and wake this loop; it runs in the leading process only.
//
//   queued ──admit (quota fits)──▶ admitted ──dispatch──▶ running ──exit──▶ succeeded | failed | cancelled
//      ▲                                                        │
//      └────────────── retry (exit ≠ 0, attempts left) ◀────────┘
//
// Admission runs under one advisory lock, so concurrent passes never oversubscribe a quota. Within a team
// jobs go strictly by priority, then submission time (a job that does not fit holds back the team's later
// jobs, so big jobs are not starved); across teams the team with the smallest dominant share of its quota goes
// first. Dispatch claims a job (admitted → running, attempt + 1, token minted) in one transaction before the
// executor starts it, so no attempt starts twice; when this process dies between the claim and recording the
// attempt's handle, the next leader finds the attempt by its job id (backend.locate), stops it, and retries
// it per the job's retries (onLead → converge).
import { cpSync, existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { and, asc, desc, eq, gte, inArray, isNotNull, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apiTokens, jobEvents, jobResourceSamples, jobs, memberships, runs, teamQuotas, teams, users } from "@/db/schema";
import type { RunStatus } from "@/db/schema";
import type { ComputeBackend, ExitInfo } from "../compute/backend";
import { env } from "../env";
import { mintJobToken, revokeTokenById } from "../tokens/service";
import type { Quota } from "../jobs/resources";
import { activeUsage, dominantShare, outsideLimitRange, waitReason } from "../jobs/resources";
import type { CodeArchiveRow } from "../jobs/code-archives";
import { codeArchiveStream, extractCodeArchive, isArchiveId, teamCodeArchive } from "../jobs/code-archives";
import { systemCtx } from "../context";
import { observeQueueWait } from "../observability/metrics";
import { artifactStore, writeArtifact } from "../tracking/artifacts";
import { publishJobChange } from "../jobs/events";
import { examplesRoot, jobDir, jobLogFile } from "../jobs/service";
import { setRunStatus } from "../jobs/run-status";
import type { ExitFacts, FailureCause } from "../jobs/failure-cause";
import { findFailureCause, readLogTail } from "../jobs/failure-cause";
import type { Loop } from "./runtime";
import { authChanged } from "../auth/token-cache";
import { contextFromTraceparent, outsideTrace, withSpan } from "../observability/tracing";
import { log } from "../observability/log";

const ADMIT_LOCK = 0x6a6f_6273; // "jobs"

type JobRow = typeof jobs.$inferSelect;

const RUN_STATUS: Record<"succeeded" | "failed" | "cancelled", RunStatus> = { succeeded: "FINISHED", failed: "FAILED", cancelled: "KILLED" };

/** The complete environment of a job's process. Nothing is inherited from the server's environment. */
export function jobEnvironment(job: JobRow, attempt: number, workdir: string, token: string): Record<string, string> {
  return {
    PATH: `${path.dirname(process.execPath)}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    HOME: workdir,
    LANG: "C.UTF-8",
    PYTHONUNBUFFERED: "1",
    // In the sandbox this folder holds only the runtime packages (CAIRN_JOB_RUNTIME_PACKAGES), bound read-only.
    NODE_PATH: path.resolve(process.cwd(), "node_modules"),
    ...job.spec.env,
    MLFLOW_TRACKING_URI: env().trackingUrl,
    MLFLOW_TRACKING_TOKEN: token,
    MLFLOW_EXPERIMENT_ID: String(job.experimentId),
    MLFLOW_RUN_ID: job.runId,
    CAIRN_JOB_ID: job.id,
    CAIRN_JOB_ATTEMPT: String(attempt),
    CAIRN_CPU: String(job.cpu),
    CAIRN_MEMORY_GIB: String(job.memoryGib),
    CAIRN_GPUS: String(job.gpus),
  };
}

/** Attempts started at once on the kubernetes backend. */
const DISPATCH_WIDTH_KUBERNETES = 8;

export class JobScheduler implements Loop {
  readonly name = "jobs" as const;
  readonly intervalMs: number;
  readonly backend: ComputeBackend;
  private readonly db: Db;
  /** Jobs whose dispatch is under way in this process. */
  private readonly inflight = new Set<string>();
  /** Attempts this process has asked its executor to stop (a cancel is sent once, not on every pass). */
  private readonly stopping = new Set<string>();
  private ticking: Promise<void> | null = null;
  private again = false;

  constructor(opts: { db: Db; backend: ComputeBackend; intervalMs?: number }) {
    this.db = opts.db;
    this.backend = opts.backend;
    this.intervalMs = opts.intervalMs ?? env().schedulerIntervalMs;
  }

  /** One pass: admission, cancels of running attempts, dispatch. Concurrent callers share the pass in flight (and get one more after it). */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.admit();
        await this.stopCancelled();
        await this.dispatch();
      } while (this.again);
    })().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  /** Leadership (or start-up): converge every attempt an earlier leader left running. */
  async onLead(): Promise<void> {
    const converged = await this.converge();
    if (converged) log.info(`converged ${converged} job(s) left running by an earlier server process`);
  }

  private wakeSelf(): void {
    // A pass is the scheduler's own work, not part of the trace of the job whose exit woke it.
    outsideTrace(() => void this.tick().catch((err: unknown) => log.error("scheduler pass failed", { err })));
  }

  private async admit(): Promise<void> {
      const db = this.db;
    const changes: Parameters<typeof publishJobChange>[0][] = [];
    const refused: { id: string; attempt: number; message: string }[] = [];
    await db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${ADMIT_LOCK})`);
      // Only what admission needs: with a deep queue this runs on every submit, so no spec (jsonb) is read.
      const queued = await tx
        .select({
          id: jobs.id, teamId: jobs.teamId, name: jobs.name, cpu: jobs.cpu, memoryGib: jobs.memoryGib, gpus: jobs.gpus, gpuType: jobs.gpuType,
          queuedAt: jobs.queuedAt, queueReason: jobs.queueReason, attempt: jobs.attempt,
        })
        .from(jobs)
        .where(eq(jobs.status, "queued"))
        .orderBy(desc(jobs.priority), asc(jobs.queuedAt), asc(jobs.id));
      if (queued.length === 0) return;
      const teamIds = [...new Set(queued.map((j) => j.teamId))];
      // Two statements, one after the other: a transaction is one connection (no parallel queries on it).
      const teamRows = await tx
        .select({ id: teams.id, slug: teams.slug, quota: teamQuotas })
        .from(teams)
        .leftJoin(teamQuotas, eq(teamQuotas.teamId, teams.id))
        .where(inArray(teams.id, teamIds));
      const usage = await activeUsage(tx, teamIds);
      const quotas = new Map<string, Quota>(teamRows.flatMap((t) => (t.quota ? [[t.id, t.quota] as const] : [])));
      const slug = new Map(teamRows.map((t) => [t.id, t.slug]));
      // A job the team's limit range no longer allows (it changed after the submit) can never start: it fails,
      // as its pod would be refused on Kubernetes, rather than block the team's queue.
      for (const j of queued) {
        const quota = quotas.get(j.teamId);
        const why = quota ? outsideLimitRange(slug.get(j.teamId) ?? j.teamId, j, quota.limitRange ?? null) : null;
        if (why) refused.push({ id: j.id, attempt: j.attempt, message: `refused: ${why} (the limit range changed after it was submitted)` });
      }
      const refusedIds = new Set(refused.map((r) => r.id));
      const pending = new Map(teamIds.map((id) => [id, queued.filter((j) => j.teamId === id && !refusedIds.has(j.id))]));
      const reasons = new Map<string, string>();
      type Queued = (typeof queued)[number];
      const admitted: Queued[] = [];
      for (;;) {
        let best: { job: Queued; share: number } | null = null;
        for (const [teamId, list] of pending) {
          const head = list[0];
          if (!head) continue;
          const quota = quotas.get(teamId);
          const team = slug.get(teamId) ?? teamId;
          const reason = quota ? waitReason(team, head, quota, usage.get(teamId)!) : `team ${team} has no quota; an admin must set one`;
          if (reason) {
            reasons.set(head.id, reason);
            // Named by the job ahead only (its own reason, with the usage figures, is on it): the jobs behind are
            // rewritten when the head changes, not on every change of usage.
            for (const behind of list.slice(1)) reasons.set(behind.id, `queued behind job "${head.name}" of team ${team}, the next to start when the quota has room`);
            continue;
          }
          const share = dominantShare(usage.get(teamId)!, quota!);
          if (!best || share < best.share || (share === best.share && head.queuedAt < best.job.queuedAt)) best = { job: head, share };
        }
        if (!best) break;
        const { job } = best;
        const u = usage.get(job.teamId)!;
        const byType = { ...u.gpusByType };
        if (job.gpuType && job.gpus) byType[job.gpuType] = (byType[job.gpuType] ?? 0) + job.gpus;
        usage.set(job.teamId, { cpu: u.cpu + job.cpu, memoryGib: u.memoryGib + job.memoryGib, gpus: u.gpus + job.gpus, jobs: u.jobs + 1, gpusByType: byType });
        pending.get(job.teamId)!.shift();
        reasons.delete(job.id);
        admitted.push(job);
      }
      const now = new Date();
      for (const r of refused) {
        const [row] = await tx.update(jobs).set({ status: "failed", finishedAt: now, queueReason: null, message: r.message }).where(and(eq(jobs.id, r.id), eq(jobs.status, "queued"))).returning({ runId: jobs.runId, teamId: jobs.teamId });
        if (!row) continue;
        await tx.insert(jobEvents).values({ jobId: r.id, status: "failed", attempt: r.attempt, message: r.message });
        await setRunStatus(tx, row.runId, "FAILED", now);
        changes.push({ job_id: r.id, team_id: row.teamId, status: "failed", attempt: r.attempt, message: r.message });
      }
      // Every write below is guarded by the status this pass read: a cancel does not take the admission lock, so
      // one may have committed since the SELECT above (the job is cancelled now and must stay so; an unguarded
      // write brought it back as admitted, and it ran and held its quota: the admin.test "uses 16 of 4" flake).
      // Usage counted a job skipped here, so this pass admits less than it could; the cancel's wake runs another.
      for (const job of admitted) {
        const [row] = await tx.update(jobs).set({ status: "admitted", admittedAt: now, queueReason: null }).where(and(eq(jobs.id, job.id), eq(jobs.status, "queued"))).returning({ id: jobs.id });
        if (!row) continue;
        await tx.insert(jobEvents).values({ jobId: job.id, status: "admitted", attempt: job.attempt, message: "quota available" });
        changes.push({ job_id: job.id, team_id: job.teamId, status: "admitted", attempt: job.attempt });
      }
      for (const job of queued) {
        const reason = reasons.get(job.id);
        if (reason === undefined || reason === job.queueReason) continue;
        const [row] = await tx.update(jobs).set({ queueReason: reason }).where(and(eq(jobs.id, job.id), eq(jobs.status, "queued"))).returning({ id: jobs.id });
        if (!row) continue;
        await tx.insert(jobEvents).values({ jobId: job.id, status: "queued", attempt: job.attempt, message: reason });
        changes.push({ job_id: job.id, team_id: job.teamId, status: "queued", attempt: job.attempt, message: reason });
      }
    });
    for (const c of changes) publishJobChange(c);
  }

  private async dispatch(): Promise<void> {
    const ready = await this.db.select().from(jobs).where(eq(jobs.status, "admitted")).orderBy(desc(jobs.priority), asc(jobs.admittedAt));
    // In priority order; on Kubernetes several at once (each start is a few API round trips: Secret, Job), so a
    // burst of submissions does not start one pod after another. Locally one at a time (each spawns a process).
    const width = this.backend.name === "kubernetes" ? DISPATCH_WIDTH_KUBERNETES : 1;
    let next = 0;
    const lane = async () => {
      while (next < ready.length) {
        const job = ready[next++]!;
        if (this.inflight.has(job.id)) continue;
        this.inflight.add(job.id);
        try {
          // A child of the submit's span (its traceparent is stored with the job): one trace from the request to the start.
          await withSpan("job.dispatch", {
            parent: contextFromTraceparent(job.spec.traceparent),
            attributes: { "cairn.job.id": job.id, "cairn.job.attempt": job.attempt + 1, "cairn.compute.backend": this.backend.name },
          }, () => this.start(job));
        } finally {
          this.inflight.delete(job.id);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(width, ready.length) }, lane));
  }

  /**
   * Cancels committed while attempts run (the request only records them): the attempt's process group / pod
   * is stopped, and its exit records the job as cancelled. An attempt this process did not start (an earlier
   * leader's) is killed and recorded here.
   */
  private async stopCancelled(): Promise<void> {
    const asked = await this.db
      .select({ id: jobs.id, attempt: jobs.attempt, ref: jobs.backendRef, message: jobs.message })
      .from(jobs)
      .where(and(eq(jobs.status, "running"), eq(jobs.cancelRequested, 1), eq(jobs.backend, this.backend.name), isNotNull(jobs.backendRef)));
    for (const job of asked) {
      const key = `${job.id}:${job.attempt}`;
      if (this.stopping.has(key) || this.inflight.has(job.id)) continue;
      this.stopping.add(key);
      try {
        await this.backend.cancel(job.ref!);
        // The executor's own attempt ends through its exit handler; one it did not start is gone now.
        if (!(await this.backend.isAlive(job.ref!))) {
          await this.finish(job.id, job.attempt, { status: "cancelled", message: job.message?.replace(/^cancel requested by /, "cancelled by ") ?? "cancelled" });
        }
      } catch (err) {
        this.stopping.delete(key);
        throw err;
      }
    }
    // Forget attempts that ended.
    if (this.stopping.size > 0) {
      const live = new Set(asked.map((j) => `${j.id}:${j.attempt}`));
      for (const key of this.stopping) if (!live.has(key)) this.stopping.delete(key);
    }
  }

  private async start(job: JobRow): Promise<void> {
      const db = this.db;
    const attempt = job.attempt + 1;
    // The team's limit range may have narrowed since admission: a container outside it would be refused.
    const [limits] = await db.select({ limitRange: teamQuotas.limitRange }).from(teamQuotas).where(eq(teamQuotas.teamId, job.teamId));
    const outside = outsideLimitRange(await teamSlug(db, job.teamId), job, limits?.limitRange ?? null);
    if (outside) {
      const message = `refused: ${outside} (the limit range changed after it was admitted)`;
      const now = new Date();
      const failed = await db.transaction(async (tx) => {
        const [row] = await tx.update(jobs).set({ status: "failed", finishedAt: now, message }).where(and(eq(jobs.id, job.id), eq(jobs.status, "admitted"))).returning({ runId: jobs.runId });
        if (!row) return false;
        await tx.insert(jobEvents).values({ jobId: job.id, status: "failed", attempt: job.attempt, message });
        await setRunStatus(tx, row.runId, "FAILED", now);
        return true;
      });
      if (failed) publishJobChange({ job_id: job.id, team_id: job.teamId, status: "failed", attempt: job.attempt, message });
      return;
    }
    const claimed = await db.transaction(async (tx) => {
      const [row] = await tx
        .update(jobs)
        .set({ status: "running", attempt, startedAt: new Date(), exitCode: null, message: null, failureCause: null, resourceSource: null, backend: this.backend.name, backendRef: null })
        .where(and(eq(jobs.id, job.id), eq(jobs.status, "admitted")))
        .returning();
      if (!row) return null;
      if (!row.userId) return { row, token: null, why: "the user who submitted the job no longer exists" };
      // A member removed since the submit gets no new token: their queued work fails instead of acting for them.
      // The membership row is held until this commits, so a removal waits and then revokes this token too.
      const [member] = await tx.select({ userId: memberships.userId }).from(memberships)
        .where(and(eq(memberships.userId, row.userId), eq(memberships.teamId, row.teamId))).for("share");
      const [admin] = member ? [] : await tx.select({ id: users.id }).from(users).where(and(eq(users.id, row.userId), eq(users.isAdmin, true)));
      if (!member && !admin) return { row, token: null, why: "the user who submitted the job is no longer a member of its team" };
      const token = await mintJobToken(tx, { userId: row.userId, teamId: row.teamId, jobId: row.id, ttlSeconds: row.spec.max_runtime_seconds + 3600 });
      await tx.update(jobs).set({ tokenId: token.id }).where(eq(jobs.id, row.id));
      await tx.insert(jobEvents).values({ jobId: row.id, status: "running", attempt, message: `attempt ${attempt} of ${row.spec.retries + 1} on the ${this.backend.name} executor` });
      await tx.update(runs).set({ status: "RUNNING", endTime: null }).where(eq(runs.id, row.runId));
      return { row, token: token.token, why: null };
    });
    if (!claimed) return;
    publishJobChange({ job_id: job.id, team_id: job.teamId, status: "running", attempt });
    if (attempt === 1) observeQueueWait(await teamSlug(db, job.teamId), (claimed.row.startedAt!.getTime() - claimed.row.queuedAt.getTime()) / 1000);
    if (!claimed.token) {
      await this.finish(job.id, attempt, { status: "failed", message: claimed.why ?? "the job has no user to act for" });
      return;
    }
    const workdir = path.join(jobDir(job.id), `attempt-${attempt}`);
    try {
      mkdirSync(workdir, { recursive: true });
      if (job.spec.source && isArchiveId(job.spec.source)) {
        const archive = await teamCodeArchive(db, job.teamId, job.spec.source);
        if (!archive) throw new Error(`the code archive ${job.spec.source} is gone`);
        await keepCodeInRun(db, job, archive);
        await extractCodeArchive(archive, workdir);
      } else if (job.spec.source) {
        const from = path.join(examplesRoot(), job.spec.source.replace(/^examples\//, ""));
        if (!existsSync(from)) throw new Error(`the code source ${job.spec.source} is gone`);
        cpSync(from, workdir, { recursive: true });
      }
      // The attempt's callbacks (its exit, maybe hours later) run outside this trace: their writes are the job's life, not its start.
      const { ref } = await withSpan("compute.start", { attributes: { "cairn.compute.backend": this.backend.name, "cairn.job.id": job.id } }, async () => this.backend.start(
        {
          jobId: job.id, attempt, team: await teamSlug(db, job.teamId), runId: job.runId, experimentId: job.experimentId, image: job.spec.image, source: job.spec.source,
          command: job.spec.command, env: jobEnvironment(claimed.row, attempt, workdir, claimed.token), workdir,
          logFile: jobLogFile(job.id), maxRuntimeSeconds: job.spec.max_runtime_seconds, resources: { cpu: job.cpu, memoryGib: job.memoryGib, gpus: job.gpus, gpuType: job.gpuType },
        },
        {
          onExit: (exit) => outsideTrace(() => void this.onExit(job.id, attempt, exit).catch((err: unknown) => log.error(`job ${job.id}: recording its exit failed`, { err }))),
          onMessage: (message) => outsideTrace(() => void db.update(jobs).set({ message }).where(and(eq(jobs.id, job.id), eq(jobs.attempt, attempt), eq(jobs.status, "running"))).catch(() => undefined)),
          onStarted: () => outsideTrace(() => void workloadStarted(db, job.id, attempt).catch((err: unknown) => log.error(`job ${job.id}: recording its start failed`, { err }))),
        },
      ));
      const [now] = await db.update(jobs).set({ backendRef: ref }).where(and(eq(jobs.id, job.id), eq(jobs.attempt, attempt))).returning({ cancelRequested: jobs.cancelRequested });
      // A cancel that came while the process was being started found nothing to stop (no ref yet): stop it now;
      // its exit then records the job as cancelled.
      if (now?.cancelRequested) await this.backend.cancel(ref);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      await this.finish(job.id, attempt, { status: "failed", message: `could not start: ${why}` });
    }
  }

  private async onExit(jobId: string, attempt: number, exit: ExitInfo): Promise<void> {
      const db = this.db;
    const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId));
    if (!job) return;
    if (job.cancelRequested || exit.reason === "cancelled") await this.finish(jobId, attempt, { status: "cancelled", message: "cancelled", exitCode: exit.exitCode });
    else if (exit.reason === "timeout") await this.finish(jobId, attempt, { status: "failed", message: `exceeded its max runtime of ${job.spec.max_runtime_seconds} s`, exitCode: exit.exitCode, failure: await this.failureOf(job, exit) });
    else if (exit.exitCode === 0) await this.finish(jobId, attempt, { status: "succeeded", message: null, exitCode: 0 });
    else await this.finish(jobId, attempt, { status: "failed", message: describeExit(exit), exitCode: exit.exitCode, retry: true, failure: await this.failureOf(job, exit) });
  }

  /** Why the attempt failed, from the tail of its log, how it ended, and its memory as last sampled. */
  private async failureOf(job: JobRow, exit: ExitInfo): Promise<FailureCause> {
    const facts: ExitFacts = { exitCode: exit.exitCode, signal: exit.signal, reason: exit.reason, maxRuntimeSeconds: job.spec.max_runtime_seconds, oomKilled: exit.oomKilled };
    try {
      const [peak] = await this.db
        .select({ bytes: sql<number | null>`max(${jobResourceSamples.memoryBytes})` })
        .from(jobResourceSamples)
        .where(and(eq(jobResourceSamples.jobId, job.id), job.startedAt ? gte(jobResourceSamples.at, job.startedAt) : undefined));
      if (peak?.bytes) facts.memory = { peakBytes: Number(peak.bytes), limitBytes: job.memoryGib * 1024 ** 3 };
      return findFailureCause(readLogTail(jobLogFile(job.id)), facts);
    } catch (err) {
      log.warn(`job ${job.id}: reading its failure cause failed`, { err });
      return findFailureCause({ text: "", firstLine: null }, facts);
    }
  }

  /**
   * Ends attempt `attempt` of a running job: succeeded, failed (retried while attempts are left when
   * `retry`), or cancelled. The job's token is revoked and its run's status follows the job's.
   */
  private async finish(jobId: string, attempt: number, outcome: { status: "succeeded" | "failed" | "cancelled"; message: string | null; exitCode?: number | null; retry?: boolean; failure?: FailureCause }): Promise<void> {
      const db = this.db;
    const change = await db.transaction(async (tx) => {
      const [job] = await tx.select().from(jobs).where(eq(jobs.id, jobId)).for("update");
      if (!job || job.status !== "running" || job.attempt !== attempt) return;
      const now = new Date();
      const ran = job.startedAt ? Math.max(0, (now.getTime() - job.startedAt.getTime()) / 1000) : 0;
      if (job.tokenId) await revokeTokenById(tx, job.tokenId);
      // A cancel recorded while the attempt failed on its own (its exit was read before the cancel committed):
      // the job ends cancelled; it is not retried.
      if (job.cancelRequested && outcome.status === "failed") {
        outcome = { ...outcome, status: "cancelled", retry: false, message: outcome.message ? `cancelled (attempt ${attempt} ${outcome.message})` : "cancelled" };
      }
      const retry = outcome.retry && outcome.status === "failed" && attempt <= job.spec.retries;
      const failure = outcome.status === "failed" ? (outcome.failure ?? null) : null;
      // The cause, when the log said more than the exit did, goes into the timeline too.
      const said = failure && !["exit", "signal", "timeout"].includes(failure.kind) ? `: ${failure.summary}` : "";
      if (retry) {
        const reason = `retry ${attempt + 1} of ${job.spec.retries + 1}: attempt ${attempt} ${outcome.message}${said}`;
        await tx.update(jobs).set({ status: "queued", queueReason: reason, runSeconds: job.runSeconds + ran, exitCode: outcome.exitCode ?? null, message: outcome.message, failureCause: failure, backendRef: null, tokenId: null }).where(eq(jobs.id, jobId));
        await tx.insert(jobEvents).values({ jobId, status: "queued", attempt, message: reason });
        await tx.update(runs).set({ status: "SCHEDULED" }).where(eq(runs.id, job.runId));
        return { job_id: jobId, team_id: job.teamId, status: "queued" as const, attempt, message: reason };
      }
      await tx
        .update(jobs)
        .set({ status: outcome.status, finishedAt: now, runSeconds: job.runSeconds + ran, exitCode: outcome.exitCode ?? null, message: outcome.message, failureCause: failure, queueReason: null })
        .where(eq(jobs.id, jobId));
      await tx.insert(jobEvents).values({ jobId, status: outcome.status, attempt, message: outcome.message ? `${outcome.message}${said}` : "exit code 0" });
      await setRunStatus(tx, job.runId, RUN_STATUS[outcome.status], now);
      return { job_id: jobId, team_id: job.teamId, status: outcome.status, attempt, message: outcome.message };
    });
    // The job's token was revoked with it (the job ended, or went back to the queue).
    authChanged();
    if (change) publishJobChange(change);
    this.wakeSelf();
  }

  /**
   * After a restart or a change of leader: every attempt of this executor recorded as running is converged.
   * Its process or pod (found by its handle, or by its job id when the leader died before recording one) is
   * stopped and waited for first, so an attempt never runs twice at once; then the attempt counts as failed
   * and is retried while the job has retries left (a cancelled one ends cancelled).
   */
  async converge(): Promise<number> {
    const db = this.db;
    const stale = await db
      .select({ job: jobs, team: teams.slug })
      .from(jobs)
      .innerJoin(teams, eq(teams.id, jobs.teamId))
      .where(and(eq(jobs.status, "running"), eq(jobs.backend, this.backend.name)));
    for (const { job, team } of stale) {
      if (this.inflight.has(job.id)) continue;
      const ref = job.backendRef ?? (await this.backend.locate({ jobId: job.id, attempt: job.attempt, team }));
      if (ref) await this.backend.kill(ref);
      const message = job.backendRef ? `Cairn restarted while attempt ${job.attempt} was running` : `Cairn stopped while starting attempt ${job.attempt}`;
      if (job.cancelRequested) await this.finish(job.id, job.attempt, { status: "cancelled", message: "cancelled (Cairn restarted while stopping it)" });
      else await this.finish(job.id, job.attempt, { status: "failed", message, retry: true });
    }
    return stale.length;
  }
}

/**
 * The workload began after a wait on the executor (Kueue, the cluster's quota, an image pull): its runtime and
 * cost count from now, and its token lives for its max runtime (+ 1 h) from now — it was minted at dispatch.
 */
async function workloadStarted(db: Db, jobId: string, attempt: number): Promise<void> {
  await db.transaction(async (tx) => {
    const [row] = await tx
      .update(jobs)
      .set({ startedAt: new Date() })
      .where(and(eq(jobs.id, jobId), eq(jobs.attempt, attempt), eq(jobs.status, "running")))
      .returning({ tokenId: jobs.tokenId, spec: jobs.spec });
    if (row?.tokenId) await tx.update(apiTokens).set({ expiresAt: sql`now() + make_interval(secs => ${row.spec.max_runtime_seconds + 3600})` }).where(eq(apiTokens.id, row.tokenId));
  });
}

async function teamSlug(db: Db, teamId: string): Promise<string> {
  const [row] = await db.select({ slug: teams.slug }).from(teams).where(eq(teams.id, teamId));
  return row?.slug ?? "unknown";
}

/**
 * The run keeps the code it was trained with, as uploaded: artifacts/code/<filename>, written once (the submit
 * checked it fits the team's storage quota).
 */
async function keepCodeInRun(db: Db, job: JobRow, archive: CodeArchiveRow): Promise<void> {
  const loc = { root: [await teamSlug(db, job.teamId), String(job.experimentId), job.runId], rel: `code/${archive.filename}`, teamId: job.teamId };
  if (await artifactStore().stat(loc.root, loc.rel)) return;
  await writeArtifact(systemCtx(db, "scheduler"), loc, codeArchiveStream(archive), archive.sizeBytes);
}

function describeExit(exit: ExitInfo): string {
  return exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.exitCode}`;
}
