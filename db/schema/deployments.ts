// Deployments: a registered model version served behind the inference gateway, staging or production,
// with its replicas and autoscale bounds as asked, its status as the serving backend reports it, and
// every change of status as an event.
import { sql } from "drizzle-orm";
import { bigint, bigserial, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { ResourceSource } from "./jobs";
import { modelVersions, registeredModels } from "./registry";
import { teams, users } from "./tenancy";

export const DEPLOYMENT_ENVIRONMENTS = ["staging", "production"] as const;
export type DeploymentEnvironment = (typeof DEPLOYMENT_ENVIRONMENTS)[number];

export const DEPLOYMENT_STATUSES = ["deploying", "ready", "failed", "scaled_to_zero", "stopped"] as const;
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];
/** Statuses that hold a slot of the team's deployment quota (and that the serving backend keeps up). */
export const LIVE_DEPLOYMENT_STATUSES: readonly DeploymentStatus[] = ["deploying", "ready", "scaled_to_zero"];

export const deployments = pgTable(
  "deployments",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    modelId: uuid("model_id").notNull().references(() => registeredModels.id, { onDelete: "cascade" }),
    /** The version deployed; kept by number too, so the record reads right after the version is deleted. */
    versionId: uuid("version_id").references(() => modelVersions.id, { onDelete: "set null" }),
    modelName: text("model_name").notNull(),
    version: integer("version").notNull(),
    /** The alias the caller deployed by, if any (resolved to `version` at deploy time). */
    alias: text("alias"),
    environment: text("environment").$type<DeploymentEnvironment>().notNull(),
    status: text("status").$type<DeploymentStatus>().notNull().default("deploying"),
    message: text("message"),
    replicas: integer("replicas").notNull(),
    autoScale: boolean("auto_scale").notNull(),
    minReplicas: integer("min_replicas").notNull(),
    maxReplicas: integer("max_replicas").notNull(),
    /** Autoscaling aims at this many requests in flight per replica. */
    targetConcurrency: integer("target_concurrency").notNull().default(4),
    /** When the autoscaler (or a scale request) last changed `replicas`. */
    scaledAt: timestamp("scaled_at", { withTimezone: true }),
    /** Percent of the endpoint's traffic this deployment takes. */
    traffic: integer("traffic").notNull().default(100),
    backend: text("backend").notNull().default("local"),
    /** Share (0–1) of the gateway's requests sampled into the inference log for drift monitoring. */
    sampleRate: doublePrecision("sample_rate").notNull().default(0.1),
    /** Why it exists beyond its creator: "approval <id>", "rollback <deployment id>", "demo seed"; shown in the alias history. */
    origin: text("origin"),
    /** The version's pinned digest when this deployment was made, and the SHA-256 of the model file it serves (checked before every load). */
    contentDigest: text("content_digest"),
    modelSha256: text("model_sha256"),
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    createdByEmail: text("created_by_email").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    readyAt: timestamp("ready_at", { withTimezone: true }),
    stoppedAt: timestamp("stopped_at", { withTimezone: true }),
    /** Where its replicas' resource samples come from, as the serving sampler last found it (with why, when unreadable). */
    resourceSource: jsonb("resource_source").$type<ResourceSource>(),
  },
  (t) => [index("deployments_team_status_idx").on(t.teamId, t.status), index("deployments_model_idx").on(t.modelId, t.status)],
);

export const deploymentEvents = pgTable(
  "deployment_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deploymentId: uuid("deployment_id").notNull().references(() => deployments.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    status: text("status").$type<DeploymentStatus>().notNull(),
    message: text("message"),
  },
  (t) => [index("deployment_events_deployment_idx").on(t.deploymentId, t.id)],
);

/**
 * The gateway's answers per deployment, model version and minute (server/observability/inference-rollups.ts):
 * Cairn's own time series when no Prometheus is there. Rows are added to, never rewritten, so every process's
 * flushes sum up; kept 30 days.
 */
export const inferenceMinutes = pgTable(
  "inference_minutes",
  {
    deploymentId: uuid("deployment_id").notNull().references(() => deployments.id, { onDelete: "cascade" }),
    /** The model version that answered. */
    version: integer("version").notNull(),
    /** The minute's start. */
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    requests: integer("requests").notNull(),
    errors5xx: integer("errors_5xx").notNull(),
    errors4xx: integer("errors_4xx").notNull(),
    latencyMsSum: doublePrecision("latency_ms_sum").notNull(),
    /** Answers per latency bucket (LATENCY_BUCKETS_MS, then one past the last bound), not cumulative. */
    latencyBuckets: integer("latency_buckets").array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.deploymentId, t.minute, t.version] }), index("inference_minutes_minute_idx").on(t.minute)],
);

/**
 * CPU and memory of a deployment's replicas together, as the serving resource sampler (server/workers/serving-resources.ts)
 * read them: the replica processes from /proc (local) or the pods from metrics.k8s.io / Prometheus (Kubernetes).
 * What the cost meter charges as "used"; at most SERVING_SAMPLE_CAP rows a deployment (older ones merged in pairs).
 */
export const deploymentResourceSamples = pgTable(
  "deployment_resource_samples",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    deploymentId: uuid("deployment_id").notNull().references(() => deployments.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull(),
    /** How many replica processes were measured (null where the source sums its pods without counting them). */
    replicas: integer("replicas"),
    cpuCores: doublePrecision("cpu_cores").notNull(),
    memoryBytes: bigint("memory_bytes", { mode: "number" }).notNull(),
    /** Mean utilization (0–1) of the replicas' GPUs as the DCGM exporter reported it (Kubernetes with Prometheus); null: not read. */
    gpuUtilization: doublePrecision("gpu_utilization"),
  },
  (t) => [index("deployment_resource_samples_deployment_idx").on(t.deploymentId, t.at)],
);
