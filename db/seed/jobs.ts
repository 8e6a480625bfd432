// Demo job history: the jobs behind the demo runs — the best runs of each experiment (succeeded), its
// failed runs (failed, with the run's failure as the last log line) and killed runs (cancelled) — with
// their timelines, costs and logs replayed from the runs' metric history, so the jobs table and job
// pages show real history from the first start.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { findFailureCause } from "@/server/jobs/failure-cause";
import type { Db } from "../client";
import { experiments, instanceTypes, jobEvents, jobResourceSamples, jobs, metrics, runTags, runs, teams, users } from "../schema";
import type { JobSpec, JobStatus } from "../schema";

/** The instance type each demo team trains on. */
const TEAM_TYPE: Record<string, { type: string; gpus: number }> = {
  churn: { type: "cpu.large", gpus: 0 },
  fraud: { type: "gpu.small", gpus: 1 },
  vision: { type: "gpu.large", gpus: 4 },
};
const MAX_PER_STATUS = { succeeded: 3, failed: 3, cancelled: 2 } as const;

type Picked = { runId: string; experimentId: number; teamId: string; team: string; status: JobStatus; start: number; end: number; userEmail: string; source: string; failure: string | null };

async function pickRuns(db: Db): Promise<Picked[]> {
  const rows = await db
    .select({
      runId: runs.id, experimentId: runs.experimentId, teamId: runs.teamId, team: teams.slug, status: runs.status, start: runs.startTime, end: runs.endTime, user: runs.userId,
      candidate: sql<string | null>`(select value from ${runTags} where ${runTags.runId} = ${runs.id} and ${runTags.key} = 'candidate')`,
      source: sql<string | null>`(select value from ${runTags} where ${runTags.runId} = ${runs.id} and ${runTags.key} = 'mlflow.source.name')`,
      failure: sql<string | null>`(select value from ${runTags} where ${runTags.runId} = ${runs.id} and ${runTags.key} = 'failure_reason')`,
    })
    .from(runs)
    .innerJoin(teams, eq(teams.id, runs.teamId))
    .innerJoin(experiments, eq(experiments.id, runs.experimentId))
    .where(and(inArray(runs.status, ["FINISHED", "FAILED", "KILLED"]), sql`${runs.parentRunId} is null`))
    .orderBy(asc(runs.experimentId), asc(runs.startTime));
  const taken = new Map<string, number>();
  const out: Picked[] = [];
  for (const r of rows) {
    const status: JobStatus | null = r.status === "FAILED" ? "failed" : r.status === "KILLED" ? "cancelled" : r.candidate ? "succeeded" : null;
    if (!status || r.end === null) continue;
    const key = `${r.experimentId}/${status}`;
    if ((taken.get(key) ?? 0) >= MAX_PER_STATUS[status]) continue;
    taken.set(key, (taken.get(key) ?? 0) + 1);
    out.push({ runId: r.runId, experimentId: r.experimentId, teamId: r.teamId, team: r.team, status, start: r.start, end: r.end, userEmail: r.user, source: r.source ?? "train.py", failure: r.failure });
  }
  return out;
}

function commandFor(source: string): string[] {
  const file = source.split("/").pop() ?? source;
  return file.endsWith(".py") ? ["python3", file] : ["node", file];
}

/** The job's log: one line per logged epoch, as the training script printed it. */
function logFor(p: Picked, command: string[], points: { key: string; step: number; value: number }[]): string {
  const steps = new Map<number, Record<string, number>>();
  for (const m of points) (steps.get(m.step) ?? steps.set(m.step, {}).get(m.step)!)[m.key] = m.value;
  const lines = [`=== attempt 1 started ${new Date(p.start).toISOString()}: ${command.join(" ")}`, `loading data for ${p.source}`];
  for (const [step, values] of [...steps].sort((a, b) => a[0] - b[0])) {
    lines.push(`epoch ${String(step).padStart(3)}  ${Object.entries(values).sort().map(([k, v]) => `${k}=${v.toFixed(4)}`).join("  ")}`);
  }
  if (p.status === "failed") lines.push("Traceback (most recent call last):", `  File "${p.source.split("/").pop()}", line 88, in <module>`, p.failure ?? "RuntimeError: training failed");
  if (p.status === "succeeded") lines.push("saved model to model/", "run finished");
  const end = p.status === "succeeded" ? "exit code 0" : p.status === "failed" ? "exit code 1" : "cancelled";
  lines.push(`=== attempt 1 ended ${new Date(p.end).toISOString()}: ${end}`, "");
  return lines.join("\n");
}

/** How much of what it requested a team's demo job used (CPU, memory): vision's GPU jobs keep busy, fraud's idle. */
const USE: Record<string, { cpu: number; memory: number }> = { churn: { cpu: 0.55, memory: 0.4 }, fraud: { cpu: 0.3, memory: 0.25 }, vision: { cpu: 0.8, memory: 0.7 } };

/** The CPU and memory samples the job-resources worker would have taken: 12 over the job's life, varying a little. */
function usageHistory(team: string, job: { start: number; end: number; cpu: number; memoryGib: number }, seed: number) {
  const use = USE[team] ?? USE.churn!;
  return Array.from({ length: 12 }, (_, i) => {
    const wobble = 1 + 0.15 * Math.sin(seed * 7 + i);
    return {
      at: new Date(job.start + ((job.end - job.start) * (i + 0.5)) / 12),
      cpuCores: Math.round(job.cpu * use.cpu * wobble * 1000) / 1000,
      memoryBytes: Math.round(job.memoryGib * use.memory * wobble * 1024 ** 3),
    };
  });
}

/** Seeds the demo job history; a no-op when any job exists. `dataDir` receives the job logs. */
export async function seedDemoJobs(db: Db, dataDir: string): Promise<{ jobs: number }> {
  const [{ n } = { n: 0 }] = await db.select({ n: sql<number>`count(*)::int` }).from(jobs);
  if (n > 0) return { jobs: 0 };
  const picked = await pickRuns(db);
  if (picked.length === 0) return { jobs: 0 };
  const types = new Map((await db.select().from(instanceTypes)).map((t) => [t.name, t]));
  const userIds = new Map((await db.select({ id: users.id, email: users.email }).from(users)).map((u) => [u.email, u.id]));
  const history = await db
    .select({ runId: metrics.runId, key: metrics.key, step: metrics.step, value: metrics.value })
    .from(metrics)
    .where(and(inArray(metrics.runId, picked.map((p) => p.runId)), inArray(metrics.key, ["train_loss", "val_loss", "val_auc", "val_accuracy"])));
  let count = 0;
  await db.transaction(async (tx) => {
    for (const p of picked) {
      const choice = TEAM_TYPE[p.team] ?? TEAM_TYPE.churn!;
      const type = types.get(choice.type);
      if (!type) continue;
      const command = commandFor(p.source);
      const spec: JobSpec = { source: null, command, image: p.team === "vision" ? "pytorch/pytorch:2.4.0-cuda12.1-cudnn9-runtime" : "python:3.11-slim", env: {}, instance_type: type.name, priority: "normal", max_runtime_seconds: 4 * 3600, retries: 0 };
      const queuedAt = new Date(p.start - 40_000);
      const admittedAt = new Date(p.start - 25_000);
      const startedAt = new Date(p.start);
      const finishedAt = new Date(p.end);
      const log = logFor(p, command, history.filter((h) => h.runId === p.runId));
      // The cause the scheduler would have read from this log when the job failed.
      const failure = p.status === "failed" ? findFailureCause({ text: log, firstLine: 1 }, { exitCode: 1, signal: null }) : null;
      const [job] = await tx
        .insert(jobs)
        .values({
          teamId: p.teamId, experimentId: p.experimentId, runId: p.runId, userId: userIds.get(p.userEmail) ?? null, userEmail: p.userEmail,
          name: `${p.source.split("/").pop()} on ${type.name}`, spec, cpu: type.cpu, memoryGib: type.memoryGib, gpus: choice.gpus, gpuType: choice.gpus ? type.gpuType : null,
          hourlyPriceUsd: Number(type.hourlyPriceUsd), priority: 1, status: p.status, attempt: 1,
          exitCode: p.status === "succeeded" ? 0 : p.status === "failed" ? 1 : null,
          message: p.status === "failed" ? "exited with code 1" : p.status === "cancelled" ? `cancelled by ${p.userEmail}` : null, failureCause: failure,
          queuedAt, admittedAt, startedAt, finishedAt, runSeconds: Math.max(0, (p.end - p.start) / 1000),
        })
        .returning({ id: jobs.id });
      await tx.insert(jobEvents).values([
        { jobId: job!.id, at: queuedAt, status: "queued", attempt: 0, message: `submitted by ${p.userEmail}` },
        { jobId: job!.id, at: admittedAt, status: "admitted", attempt: 0, message: "quota available" },
        { jobId: job!.id, at: startedAt, status: "running", attempt: 1, message: "attempt 1 of 1" },
        { jobId: job!.id, at: finishedAt, status: p.status, attempt: 1, message: p.status === "succeeded" ? "exit code 0" : p.status === "failed" ? `exited with code 1${failure && failure.kind !== "exit" ? `: ${failure.summary}` : ""}` : `cancelled by ${p.userEmail}` },
      ]);
      await tx.insert(runTags).values({ runId: p.runId, key: "cairn.job_id", value: job!.id }).onConflictDoNothing();
      await tx.insert(jobResourceSamples).values(usageHistory(p.team, { start: p.start, end: p.end, cpu: type.cpu, memoryGib: type.memoryGib }, count).map((s) => ({ jobId: job!.id, ...s })));
      const dir = path.join(dataDir, "jobs", job!.id);
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, "output.log"), log);
      count++;
    }
  });
  return { jobs: count };
}
