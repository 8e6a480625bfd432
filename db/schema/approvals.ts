// Governance: a production deploy waits as an approval request — what would be deployed (the spec), the
// evidence the decider sees (a snapshot taken when it was asked), who asked, who decided and why.
import { sql } from "drizzle-orm";
import { index, integer, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { deployments } from "./deployments";
import { modelVersions, registeredModels } from "./registry";
import { teams, users } from "./tenancy";

export const APPROVAL_STATUSES = ["pending", "approved", "rejected", "expired", "cancelled"] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

/** What the approved deploy will be: the deploy request's own fields. */
/** `target_concurrency` is absent from requests made before autoscaling acted (they deploy with the default). */
export type ApprovalSpec = { replicas: number; auto_scale: boolean; min_replicas: number; max_replicas: number; target_concurrency?: number; traffic: number; alias: string | null; split?: SplitSpec };

/**
 * A traffic split asked for in production: `version` (the request's) becomes the candidate beside the
 * baseline deployment, taking `weight` percent; approving starts exactly this split.
 */
export type SplitSpec = {
  baseline_deployment_id: string;
  baseline_version: number;
  weight: number;
  sticky: boolean;
  abort: { error_share_points: number | null; p99_ms: number | null; min_requests: number };
};

export type MetricComparison = { key: string; candidate: number | null; current: number | null };

/** The evidence, frozen when the request was made (a later run edit does not change what was approved). */
export type ApprovalEvidence = {
  /** content_digest: the version's pinned digest when asked; approving checks the version still has it (absent in requests made before pinning). */
  candidate: { version: number; run_id: string | null; run_name: string | null; experiment_id: string | null; format: string; content_digest?: string | null };
  /** The version the team's production alias held when asked (null: nothing in production yet). */
  current: { version: number; run_id: string | null; run_name: string | null; deployment_id: string | null; replicas: number | null } | null;
  metrics: MetricComparison[];
  /** A split request: the split the decider approves (the same as the spec's). */
  split?: SplitSpec;
  cost: { replica_hourly_usd: number; priced_as: string | null; current_monthly_usd: number; candidate_monthly_usd: number; monthly_change_usd: number };
};

export const approvalRequests = pgTable(
  "approval_requests",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    modelId: uuid("model_id").notNull().references(() => registeredModels.id, { onDelete: "cascade" }),
    versionId: uuid("version_id").references(() => modelVersions.id, { onDelete: "set null" }),
    modelName: text("model_name").notNull(),
    version: integer("version").notNull(),
    environment: text("environment").notNull().default("production"),
    spec: jsonb("spec").$type<ApprovalSpec>().notNull(),
    evidence: jsonb("evidence").$type<ApprovalEvidence>().notNull(),
    note: text("note").notNull().default(""),
    status: text("status").$type<ApprovalStatus>().notNull().default("pending"),
    requestedBy: uuid("requested_by").references(() => users.id, { onDelete: "set null" }),
    requestedByEmail: text("requested_by_email").notNull(),
    decidedBy: uuid("decided_by").references(() => users.id, { onDelete: "set null" }),
    decidedByEmail: text("decided_by_email"),
    comment: text("comment"),
    decidedAt: timestamp("decided_at", { withTimezone: true }),
    /** The production deployment an approval started. */
    deploymentId: uuid("deployment_id").references(() => deployments.id, { onDelete: "set null" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("approval_requests_team_status_idx").on(t.teamId, t.status, t.createdAt)],
);
