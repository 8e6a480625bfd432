// Experiment tracking (MLflow's model): experiments owned by a team, runs, params, metric history
// with the latest value per key, tags, dataset inputs, MLflow 3 logged models, saved views.
// Times are epoch milliseconds (bigint), as MLflow's API speaks them.
import { sql } from "drizzle-orm";
import {
  bigint, bigserial, doublePrecision, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, unique, uniqueIndex, uuid,
} from "drizzle-orm/pg-core";
import { teams, users } from "./tenancy";

export const RUN_STATUSES = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type LifecycleStage = "active" | "deleted";

export const experiments = pgTable(
  "experiments",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    description: text("description"),
    artifactLocation: text("artifact_location").notNull(),
    lifecycleStage: text("lifecycle_stage").$type<LifecycleStage>().notNull().default("active"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    creationTime: bigint("creation_time", { mode: "number" }).notNull(),
    lastUpdateTime: bigint("last_update_time", { mode: "number" }).notNull(),
  },
  (t) => [unique("experiments_team_name_uq").on(t.teamId, t.name), index("experiments_team_idx").on(t.teamId, t.lifecycleStage)],
);

export const experimentTags = pgTable(
  "experiment_tags",
  {
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.experimentId, t.key] })],
);

export const runs = pgTable(
  "runs",
  {
    id: text("id").primaryKey(),
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    status: text("status").$type<RunStatus>().notNull(),
    startTime: bigint("start_time", { mode: "number" }).notNull(),
    endTime: bigint("end_time", { mode: "number" }),
    userId: text("user_id").notNull(),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    lifecycleStage: text("lifecycle_stage").$type<LifecycleStage>().notNull().default("active"),
    deletedTime: bigint("deleted_time", { mode: "number" }),
    parentRunId: text("parent_run_id"),
    artifactUri: text("artifact_uri").notNull(),
  },
  (t) => [
    index("runs_experiment_start_idx").on(t.experimentId, t.startTime.desc(), t.id),
    index("runs_team_idx").on(t.teamId),
    index("runs_parent_idx").on(t.parentRunId),
  ],
);

export const params = pgTable(
  "params",
  {
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  // (key, value, run_id) covers filters and sorts on a param without visiting the table.
  (t) => [primaryKey({ columns: [t.runId, t.key] }), index("params_key_value_run_idx").on(t.key, t.value, t.runId)],
);

/** Full metric history: every logged point. */
export const metrics = pgTable(
  "metrics",
  {
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: doublePrecision("value").notNull(),
    step: bigint("step", { mode: "number" }).notNull().default(0),
    timestamp: bigint("timestamp", { mode: "number" }).notNull(),
  },
  // MLflow's identity of a point: logging the same point twice stores it once (ON CONFLICT DO NOTHING).
  // The index also serves history reads in (step, timestamp) order.
  (t) => [uniqueIndex("metrics_point_uq").on(t.runId, t.key, t.step, t.timestamp, t.value)],
);

/** The latest point per (run, key) — MLflow's rule: highest step, then latest timestamp — for search and sort. */
export const latestMetrics = pgTable(
  "latest_metrics",
  {
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: doublePrecision("value").notNull(),
    step: bigint("step", { mode: "number" }).notNull(),
    timestamp: bigint("timestamp", { mode: "number" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.key] }), index("latest_metrics_key_value_run_idx").on(t.key, t.value, t.runId)],
);

export const runTags = pgTable(
  "run_tags",
  {
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.key] }), index("run_tags_key_value_run_idx").on(t.key, t.value, t.runId)],
);

export const datasets = pgTable(
  "datasets",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    digest: text("digest").notNull(),
    sourceType: text("source_type").notNull(),
    source: text("source").notNull(),
    schema: text("schema"),
    profile: text("profile"),
  },
  (t) => [unique("datasets_experiment_name_digest_uq").on(t.experimentId, t.name, t.digest)],
);

export const runInputs = pgTable(
  "run_inputs",
  {
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    datasetId: uuid("dataset_id").notNull().references(() => datasets.id, { onDelete: "cascade" }),
    tags: jsonb("tags").$type<{ key: string; value: string }[]>().notNull().default([]),
  },
  (t) => [primaryKey({ columns: [t.runId, t.datasetId] })],
);

/** MLflow 3 logged models (`m-<hex>`), with their artifacts under the experiment's models/ folder. */
export const loggedModels = pgTable(
  "logged_models",
  {
    id: text("id").primaryKey(),
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    sourceRunId: text("source_run_id").references(() => runs.id, { onDelete: "set null" }),
    modelType: text("model_type"),
    status: text("status").notNull().default("LOGGED_MODEL_PENDING"),
    statusMessage: text("status_message"),
    artifactLocation: text("artifact_location").notNull(),
    params: jsonb("params").$type<{ key: string; value: string }[]>().notNull().default([]),
    creationTime: bigint("creation_time", { mode: "number" }).notNull(),
    lastUpdatedTime: bigint("last_updated_time", { mode: "number" }).notNull(),
  },
  (t) => [index("logged_models_experiment_idx").on(t.experimentId, t.name)],
);

export const loggedModelTags = pgTable(
  "logged_model_tags",
  {
    modelId: text("model_id").notNull().references(() => loggedModels.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    value: text("value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.modelId, t.key] })],
);

export const runOutputs = pgTable(
  "run_outputs",
  {
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    modelId: text("model_id").notNull().references(() => loggedModels.id, { onDelete: "cascade" }),
    step: bigint("step", { mode: "number" }).notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.runId, t.modelId] })],
);

/** A user's saved runs-table view of an experiment: filter, sort and columns. */
export const savedViews = pgTable(
  "saved_views",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    state: jsonb("state").$type<Record<string, unknown>>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [unique("saved_views_user_experiment_name_uq").on(t.userId, t.experimentId, t.name)],
);

/**
 * Pre-aggregated metric history for charts: per (run, key) and step bucket of width 64·16^level,
 * the bucket's first, last, minimum and maximum finite point. Folded from metric_fold_queue in the
 * background and before every read of them (server/tracking/rollups.ts), so a 1M-point series
 * downsamples from a few thousand rows instead of a scan.
 */
export const metricRollups = pgTable(
  "metric_rollups",
  {
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    key: text("key").notNull(),
    level: smallint("level").notNull(),
    bucket: bigint("bucket", { mode: "number" }).notNull(),
    n: integer("n").notNull(),
    firstStep: bigint("first_step", { mode: "number" }).notNull(),
    firstTimestamp: bigint("first_timestamp", { mode: "number" }).notNull(),
    firstValue: doublePrecision("first_value").notNull(),
    lastStep: bigint("last_step", { mode: "number" }).notNull(),
    lastTimestamp: bigint("last_timestamp", { mode: "number" }).notNull(),
    lastValue: doublePrecision("last_value").notNull(),
    minStep: bigint("min_step", { mode: "number" }).notNull(),
    minTimestamp: bigint("min_timestamp", { mode: "number" }).notNull(),
    minValue: doublePrecision("min_value").notNull(),
    maxStep: bigint("max_step", { mode: "number" }).notNull(),
    maxTimestamp: bigint("max_timestamp", { mode: "number" }).notNull(),
    maxValue: doublePrecision("max_value").notNull(),
  },
  (t) => [primaryKey({ columns: [t.runId, t.key, t.level, t.bucket] })],
);

/**
 * The points each metric write inserted, one row per write (the batch's arrays), waiting to be folded
 * into metric_rollups: a batch costs one row here instead of an upsert per key and rollup level.
 */
export const metricFoldQueue = pgTable(
  "metric_fold_queue",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    runId: text("run_id").notNull().references(() => runs.id, { onDelete: "cascade" }),
    experimentId: bigint("experiment_id", { mode: "number" }).notNull(),
    keys: text("keys").array().notNull(),
    values: doublePrecision("values").array().notNull(),
    steps: bigint("steps", { mode: "number" }).array().notNull(),
    timestamps: bigint("timestamps", { mode: "number" }).array().notNull(),
  },
  // What a reader folds first: its runs' rows (by experiment for the charts).
  (t) => [index("metric_fold_queue_experiment_run_idx").on(t.experimentId, t.runId)],
);

/** The param, metric and tag keys an experiment's runs have logged: the runs table's column list. */
export const experimentKeys = pgTable(
  "experiment_keys",
  {
    experimentId: bigint("experiment_id", { mode: "number" }).notNull().references(() => experiments.id, { onDelete: "cascade" }),
    kind: text("kind").$type<"param" | "metric" | "tag">().notNull(),
    key: text("key").notNull(),
  },
  (t) => [primaryKey({ columns: [t.experimentId, t.kind, t.key] })],
);

/**
 * Each experiment's run counts and latest run activity, kept by triggers on `runs` (migration 0036), so no
 * page counts an experiment's runs. last_activity: the latest coalesce(end_time, start_time) of a run while active.
 */
export const experimentRunStats = pgTable("experiment_run_stats", {
  experimentId: bigint("experiment_id", { mode: "number" }).primaryKey().references(() => experiments.id, { onDelete: "cascade" }),
  activeRuns: bigint("active_runs", { mode: "number" }).notNull().default(0),
  deletedRuns: bigint("deleted_runs", { mode: "number" }).notNull().default(0),
  lastActivity: bigint("last_activity", { mode: "number" }),
});
