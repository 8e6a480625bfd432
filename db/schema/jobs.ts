// Training jobs: a spec (command, code, resources, priority, deadline, retries), the run it logs into,
// its status through admission and execution, and every transition as an event.
import { sql } from "drizzle-orm";
import { bigint, bigserial, doublePrecision, index, integer, jsonb, numeric, pgTable, smallint, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { apiTokens } from "./tokens";
import { teams, users } from "./tenancy";
import { experiments, runs } from "./tracking";

export const JOB_STATUSES = ["queued", "admitted", "running", "succeeded", "failed", "cancelled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const ACTIVE_JOB_STATUSES: readonly JobStatus[] = ["admitted", "running"];
export const FINAL_JOB_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export const PRIORITIES = { low: 0, normal: 1, high: 2 } as const;
export type Priority = keyof typeof PRIORITIES;

/** What the user asked for, as validated (the resolved resources live in their own columns). */
export type JobSpec = {
  /** A built-in example ("examples/churn") or the id of one of the team's code archives. */
  source: string | null;
  command: string[];
  image: string | null;
  env: Record<string, string>;
  instance_type: string | null;
  priority: Priority;
  max_runtime_seconds: number;
  retries: number;
  /** The submit's W3C trace context when tracing was on: the scheduler's dispatch span continues that trace. */
  traceparent?: string;
};

export const FAILURE_KINDS = ["exception", "oom", "missing_module", "not_found", "permission", "timeout", "signal", "exit"] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];
/** The most useful cause of a failed attempt: a summary, the 1-based line of the job's log it came from, and its kind. */
export type FailureCause = { summary: string; line?: number; kind: FailureKind };

export type ResourceSource = { source: "process" | "pod-metrics" | "prometheus" | "unavailable"; reason?: string };

export const jobs = pgTable(
  "jobs",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    userEmail: text("user_email").notNull(),
    name: text("name").notNull(),
    spec: jsonb("spec").$type<JobSpec>().notNull(),
    cpu: doublePrecision("cpu").notNull(),
    memoryGib: doublePrecision("memory_gib").notNull(),
    gpus: integer("gpus").notNull().default(0),
    gpuType: text("gpu_type"),
    hourlyPriceUsd: numeric("hourly_price_usd", { precision: 12, scale: 4, mode: "number" }).notNull(),
    priority: smallint("priority").notNull().default(1),
    status: text("status").$type<JobStatus>().notNull().default("queued"),
    queueReason: text("queue_reason"),
    message: text("message"),
    exitCode: integer("exit_code"),
    attempt: integer("attempt").notNull().default(0),
    cancelRequested: integer("cancel_requested").notNull().default(0),
    backend: text("backend").notNull().default("local"),
    /** The executor's handle on the running attempt (local: "pid:<pid>:<start ticks>"). */
    backendRef: text("backend_ref"),
    /** The short-lived API token the job's process logs with; revoked when the job ends. */
    tokenId: uuid("token_id").references(() => apiTokens.id, { onDelete: "set null" }),
    queuedAt: timestamp("queued_at", { withTimezone: true }).notNull().defaultNow(),
    admittedAt: timestamp("admitted_at", { withTimezone: true }),
    startedAt: timestamp("started_at", { withTimezone: true }),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
    /** Seconds of runtime over all attempts, for cost so far. */
    runSeconds: doublePrecision("run_seconds").notNull().default(0),
    /** Why the last failed attempt failed, read from its log and exit when it ended (server/jobs/failure-cause.ts). */
    failureCause: jsonb("failure_cause").$type<FailureCause>(),
    /** Where the job's resource samples come from, as the sampler last found it (with why, when unavailable). */
    resourceSource: jsonb("resource_source").$type<ResourceSource>(),
  },
  (t) => [
    index("jobs_team_status_idx").on(t.teamId, t.status),
    index("jobs_status_priority_idx").on(t.status, t.priority, t.queuedAt),
    index("jobs_run_idx").on(t.runId),
  ],
);

export const jobEvents = pgTable(
  "job_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: uuid("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    status: text("status").$type<JobStatus>().notNull(),
    attempt: integer("attempt").notNull().default(0),
    message: text("message"),
  },
  (t) => [index("job_events_job_idx").on(t.jobId, t.id)],
);

/** CPU and memory of a running job, sampled every few seconds (at most ~2,000 a job: older samples are merged in pairs). */
export const jobResourceSamples = pgTable(
  "job_resource_samples",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    jobId: uuid("job_id").notNull().references(() => jobs.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull(),
    cpuCores: doublePrecision("cpu_cores").notNull(),
    memoryBytes: bigint("memory_bytes", { mode: "number" }).notNull(),
    /** Mean utilization (0–1) of the pod's GPUs as the DCGM exporter reported it (Kubernetes with Prometheus); null: not read. */
    gpuUtilization: doublePrecision("gpu_utilization"),
  },
  (t) => [index("job_resource_samples_job_idx").on(t.jobId, t.at)],
);

export const CODE_ARCHIVE_FORMATS = ["zip", "tar.gz"] as const;
export type CodeArchiveFormat = (typeof CODE_ARCHIVE_FORMATS)[number];

/** Uploaded training code (a zip or a gzip'd tar), checked on upload and kept as uploaded; immutable. */
export const codeArchives = pgTable(
  "code_archives",
  {
    id: uuid("id").primaryKey(),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    filename: text("filename").notNull(),
    format: text("format").$type<CodeArchiveFormat>().notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    sha256: text("sha256").notNull(),
    /** Regular files in the archive. */
    files: integer("files").notNull(),
    /** The command of the archive's cairn.json, when it has one. */
    defaultCommand: jsonb("default_command").$type<string[] | null>(),
    /** Where the archive lies, relative to the data directory ("code/<team id>/<id>.zip"). */
    storagePath: text("storage_path").notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdByEmail: text("created_by_email").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("code_archives_team_idx").on(t.teamId, t.createdAt)],
);
