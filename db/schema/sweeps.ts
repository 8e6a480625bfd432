// Hyperparameter sweeps: a search over a job template's params in one experiment (the intent: space, objective,
// algorithm, budget, parallelism, early stopping, state), and its trials — each a job whose run is a child of the
// sweep's parent run. The sweep driver (server/workers/sweep-driver.ts) carries the intent out.
import { sql } from "drizzle-orm";
import { bigint, bigserial, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { jobs } from "./jobs";
import { teams, users } from "./tenancy";
import { experiments, runs } from "./tracking";

/** running: trials are asked for; paused: none are; stopping: running trials are being cancelled; the rest are final. */
export const SWEEP_STATES = ["running", "paused", "stopping", "finished", "stopped", "failed"] as const;
export type SweepState = (typeof SWEEP_STATES)[number];
export const FINAL_SWEEP_STATES: readonly SweepState[] = ["finished", "stopped", "failed"];

export type SweepParam =
  | { name: string; type: "uniform" | "log_uniform"; low: number; high: number }
  | { name: string; type: "int"; low: number; high: number }
  | { name: string; type: "categorical"; values: (string | number)[] }
  | { name: string; type: "fixed"; value: string | number };

/** The trials' job, as a training job takes it (server/jobs/service.ts submitJob); each trial adds `--<param>=<value>`. */
export type SweepJobTemplate = {
  source: string | null;
  command: string[] | null;
  instance_type: string | null;
  resources: { cpu: number; memory_gib: number; gpus?: number } | null;
  gpus: number | null;
  env: Record<string, string>;
  priority: "low" | "normal" | "high";
  max_runtime_seconds: number;
  retries: number;
};

export type SweepSpec = {
  space: SweepParam[];
  objective: { metric: string; direction: "minimize" | "maximize" };
  algorithm: "grid" | "random" | "bayesian";
  max_trials: number;
  parallelism: number;
  /** Grid: points per continuous param. */
  grid_points: number;
  seed: number;
  early_stopping: { type: "none" } | { type: "median"; min_trials: number; min_steps: number };
  template: SweepJobTemplate;
};

export const sweeps = pgTable(
  "sweeps",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    parentRunId: text("parent_run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    /** Trials are submitted as this user (their jobs are theirs: cancel, quota, cost). */
    userId: uuid("user_id").references(() => users.id, { onDelete: "set null" }),
    userEmail: text("user_email").notNull(),
    name: text("name").notNull(),
    spec: jsonb("spec").$type<SweepSpec>().notNull(),
    state: text("state").$type<SweepState>().notNull().default("running"),
    message: text("message"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [index("sweeps_experiment_idx").on(t.experimentId, t.createdAt), index("sweeps_state_idx").on(t.state)],
);

/** active: its job has not ended; pruning: early stopping cancelled it and its job has not ended yet. */
export const TRIAL_STATES = ["active", "pruning", "succeeded", "failed", "cancelled", "pruned"] as const;
export type TrialState = (typeof TRIAL_STATES)[number];

export const sweepTrials = pgTable(
  "sweep_trials",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    sweepId: uuid("sweep_id").notNull().references(() => sweeps.id, { onDelete: "cascade" }),
    /** 0-based, in the order trials were asked for (grid position, random draw). */
    number: integer("number").notNull(),
    jobId: uuid("job_id").references(() => jobs.id, { onDelete: "set null" }),
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    params: jsonb("params").$type<Record<string, string | number>>().notNull(),
    state: text("state").$type<TrialState>().notNull().default("active"),
    /** The objective metric's last logged value, once the trial ended (null if it never logged it). */
    objective: doublePrecision("objective"),
    message: text("message"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp("finished_at", { withTimezone: true }),
  },
  (t) => [unique("sweep_trials_number_uq").on(t.sweepId, t.number), index("sweep_trials_job_idx").on(t.jobId)],
);
