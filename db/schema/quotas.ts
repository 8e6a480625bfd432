// Per-team quotas and the admin-managed catalog of instance types (with hourly prices).
import { boolean, doublePrecision, integer, jsonb, numeric, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import type { LimitRangeSpec } from "@/lib/schemas/teams";
import { teams } from "./tenancy";

export const teamQuotas = pgTable("team_quotas", {
  teamId: uuid("team_id").primaryKey().references(() => teams.id, { onDelete: "cascade" }),
  cpu: doublePrecision("cpu").notNull(),
  memoryGib: doublePrecision("memory_gib").notNull(),
  gpus: integer("gpus").notNull(),
  /** An optional split of `gpus` by GPU type (e.g. {"nvidia-a100": 4}); a type not listed gets none. */
  gpusByType: jsonb("gpus_by_type").$type<Record<string, number>>(),
  maxConcurrentJobs: integer("max_concurrent_jobs").notNull(),
  maxDeployments: integer("max_deployments").notNull(),
  /** Model replicas the team's live deployments may run together (every backend; scaling and autoscaling included). */
  maxReplicas: integer("max_replicas").notNull().default(10),
  storageGib: doublePrecision("storage_gib"),
  monthlyBudgetUsd: numeric("monthly_budget_usd", { precision: 14, scale: 2, mode: "number" }).notNull(),
  /** Per-container bounds and default request (a Kubernetes LimitRange); null = no bounds. */
  limitRange: jsonb("limit_range").$type<LimitRangeSpec>(),
  /** Budget steps, as a percentage of the monthly budget (null: that step is off): warn, a lead's approval, block. */
  budgetWarnPct: integer("budget_warn_pct").default(80),
  budgetApprovalPct: integer("budget_approval_pct").default(100),
  budgetBlockPct: integer("budget_block_pct").default(120),
  /** Where budget alerts are POSTed (Slack-compatible `{text}`); null: none. */
  budgetWebhookUrl: text("budget_webhook_url"),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export type { LimitRangeSpec } from "@/lib/schemas/teams";

/**
 * The tenant sync's last word per team: its Kubernetes objects are "in_sync", had drift repaired, or
 * could not be written ("error", with the API's message). `quotaStatus` is the ResourceQuota's status
 * (hard and used, as Kubernetes quantities) as last read.
 */
export const tenantSync = pgTable("tenant_sync", {
  teamId: uuid("team_id").primaryKey().references(() => teams.id, { onDelete: "cascade" }),
  state: text("state").$type<"in_sync" | "drift_repaired" | "error">().notNull(),
  message: text("message"),
  /** What the last pass changed (e.g. "ResourceQuota cairn-quota: spec.hard differed"). */
  repaired: jsonb("repaired").$type<string[]>().notNull().default([]),
  checkedAt: timestamp("checked_at", { withTimezone: true }).notNull(),
  syncedAt: timestamp("synced_at", { withTimezone: true }),
  driftRepairedAt: timestamp("drift_repaired_at", { withTimezone: true }),
  quotaStatus: jsonb("quota_status").$type<{ hard: Record<string, string>; used: Record<string, string> }>(),
  kueue: boolean("kueue").notNull().default(false),
  /** A digest of the objects the last successful pass applied: a later difference with the same digest is drift, a new digest an update. */
  appliedDigest: text("applied_digest"),
});

/**
 * Which Cairn instance is syncing a team right now: a pass claims a team for a couple of minutes (or until
 * it is done), so several instances never sync the same team at once and never mistake each other's update
 * for drift. A claim that ran out (its instance died) can be taken over.
 */
export const tenantSyncLeases = pgTable("tenant_sync_leases", {
  teamId: uuid("team_id").primaryKey().references(() => teams.id, { onDelete: "cascade" }),
  owner: text("owner").notNull(),
  until: timestamp("until", { withTimezone: true }).notNull(),
});

export const instanceTypes = pgTable("instance_types", {
  name: text("name").primaryKey(),
  cpu: doublePrecision("cpu").notNull(),
  memoryGib: doublePrecision("memory_gib").notNull(),
  gpuType: text("gpu_type"),
  gpuCount: integer("gpu_count").notNull().default(0),
  hourlyPriceUsd: numeric("hourly_price_usd", { precision: 12, scale: 4, mode: "number" }).notNull(),
});
