// Traffic splits (canary and A/B) behind a model's stable address: the deployment serving it stays the
// baseline, a second deployment of another version of the same model (the candidate) takes `weight` percent
// of the requests. While a split is active the gateway logs each request's variant, status, latency and
// prediction; feedback stores the true label by request id, so each variant's online quality can be read.
import { sql } from "drizzle-orm";
import { bigserial, boolean, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { approvalRequests } from "./approvals";
import { deployments } from "./deployments";
import type { DeploymentEnvironment } from "./deployments";
import { registeredModels } from "./registry";
import { teams, users } from "./tenancy";

export const SPLIT_STATUSES = ["active", "promoted", "aborted"] as const;
export type SplitStatus = (typeof SPLIT_STATUSES)[number];
export type SplitVariant = "baseline" | "candidate";

export const deploymentSplits = pgTable(
  "deployment_splits",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    modelId: uuid("model_id").notNull().references(() => registeredModels.id, { onDelete: "cascade" }),
    baselineId: uuid("baseline_id").notNull().references(() => deployments.id, { onDelete: "cascade" }),
    candidateId: uuid("candidate_id").notNull().references(() => deployments.id, { onDelete: "cascade" }),
    environment: text("environment").$type<DeploymentEnvironment>().notNull(),
    /** Percent of the stable address's requests the candidate takes (1–99). */
    weight: integer("weight").notNull(),
    /** Route by a hash of the request's X-Cairn-Split-Key header (same key, same variant) instead of at random. */
    sticky: boolean("sticky").notNull().default(false),
    /** Automatic abort: the candidate's error share above the baseline's by more than this many percentage points. */
    maxErrorSharePoints: doublePrecision("max_error_share_points"),
    /** Automatic abort: the candidate's p99 latency above the baseline's by more than this many ms. */
    maxP99IncreaseMs: doublePrecision("max_p99_increase_ms"),
    /** Automatic abort judges only once each variant has served this many requests. */
    minRequests: integer("min_requests").notNull().default(100),
    status: text("status").$type<SplitStatus>().notNull().default("active"),
    endReason: text("end_reason"),
    /** The production approval that started it (null in staging). */
    approvalId: uuid("approval_id").references(() => approvalRequests.id, { onDelete: "set null" }),
    startedBy: uuid("started_by").references(() => users.id, { onDelete: "set null" }),
    startedByEmail: text("started_by_email").notNull(),
    startedAt: timestamp("started_at", { withTimezone: true }).notNull().defaultNow(),
    endedAt: timestamp("ended_at", { withTimezone: true }),
    endedByEmail: text("ended_by_email"),
  },
  (t) => [
    uniqueIndex("deployment_splits_one_active_idx").on(t.baselineId).where(sql`${t.status} = 'active'`),
    index("deployment_splits_candidate_idx").on(t.candidateId),
  ],
);

export const deploymentSplitEvents = pgTable(
  "deployment_split_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    splitId: uuid("split_id").notNull().references(() => deploymentSplits.id, { onDelete: "cascade" }),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** started, promoted, aborted, auto_aborted */
    kind: text("kind").notNull(),
    message: text("message").notNull(),
    details: jsonb("details").$type<Record<string, unknown>>(),
  },
  (t) => [index("deployment_split_events_split_idx").on(t.splitId, t.id)],
);

/** One row per gateway request while a split is active (written in batches off the request path; pruned after a retention). */
export const splitRequestLog = pgTable(
  "split_request_log",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    splitId: uuid("split_id").notNull().references(() => deploymentSplits.id, { onDelete: "cascade" }),
    requestId: text("request_id").notNull(),
    variant: text("variant").$type<SplitVariant>().notNull(),
    deploymentId: uuid("deployment_id").notNull(),
    status: integer("status").notNull(),
    latencyMs: doublePrecision("latency_ms").notNull(),
    /** The answer's first prediction: a class label ("class") or a score ("score"); null when the answer held none. */
    prediction: doublePrecision("prediction"),
    predictionKind: text("prediction_kind").$type<"class" | "score">(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index("split_request_log_split_idx").on(t.splitId, t.variant, t.at),
    index("split_request_log_request_idx").on(t.splitId, t.requestId),
    index("split_request_log_at_idx").on(t.at),
  ],
);

/** The true label of a request a split served (POST /api/v1/deployments/{id}/feedback); a repeat replaces it. */
export const splitFeedback = pgTable(
  "split_feedback",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    splitId: uuid("split_id").notNull().references(() => deploymentSplits.id, { onDelete: "cascade" }),
    requestId: text("request_id").notNull(),
    label: doublePrecision("label").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("split_feedback_request_idx").on(t.splitId, t.requestId), index("split_feedback_at_idx").on(t.at)],
);
