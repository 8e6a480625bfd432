// Costs: what each job, deployment and team's stored artifacts cost, metered as it runs — one row per subject
// per metering interval, with the quantity (hours; replica-hours for deployments), the unit price it ran at,
// the amount, and the amount split by resource kind (CPU, memory, GPU, storage). Sums over any window and
// grouping come from here.
import { sql } from "drizzle-orm";
import { bigint, bigserial, check, date, doublePrecision, index, integer, numeric, pgTable, primaryKey, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { teams } from "./tenancy";

export const COST_SUBJECTS = ["job", "deployment", "storage"] as const;
export type CostSubject = (typeof COST_SUBJECTS)[number];

export const costLedger = pgTable(
  "cost_ledger",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    subjectKind: text("subject_kind").$type<CostSubject>().notNull(),
    subjectId: text("subject_id").notNull(),
    /** The job's name, or "<model> v<version> (<environment>)". */
    subjectName: text("subject_name").notNull(),
    userEmail: text("user_email").notNull(),
    /** The job's run (jobs only). */
    runId: text("run_id"),
    /** What was paid for: the instance type (or "custom: 2 CPU, 4 GiB"), or "replica as cpu.small". */
    resource: text("resource").notNull(),
    quantityHours: doublePrecision("quantity_hours").notNull(),
    unitPriceUsd: numeric("unit_price_usd", { precision: 12, scale: 4, mode: "number" }).notNull(),
    amountUsd: numeric("amount_usd", { precision: 16, scale: 6, mode: "number" }).notNull(),
    periodStart: timestamp("period_start", { withTimezone: true }).notNull(),
    periodEnd: timestamp("period_end", { withTimezone: true }).notNull(),
    meteredAt: timestamp("metered_at", { withTimezone: true }).notNull().default(sql`now()`),
    /** What was requested over the period (cores × hours, GiB × hours, GPUs × hours); null on rows metered before the split. */
    cpuCoreHours: doublePrecision("cpu_core_hours"),
    memoryGibHours: doublePrecision("memory_gib_hours"),
    gpuHours: doublePrecision("gpu_hours"),
    gpuType: text("gpu_type"),
    /** Storage rows: GiB stored × hours. */
    storageGibHours: doublePrecision("storage_gib_hours"),
    /** The amount split by resource kind (they add up to amount_usd; all 0 on rows metered before the split). */
    cpuUsd: numeric("cpu_usd", { precision: 16, scale: 6, mode: "number" }).notNull().default(0),
    memoryUsd: numeric("memory_usd", { precision: 16, scale: 6, mode: "number" }).notNull().default(0),
    gpuUsd: numeric("gpu_usd", { precision: 16, scale: 6, mode: "number" }).notNull().default(0),
    storageUsd: numeric("storage_usd", { precision: 16, scale: 6, mode: "number" }).notNull().default(0),
    /** What was used, measured (local: the process tree; Kubernetes: pod metrics); null: not measured, see usage_note. */
    usedCpuCoreHours: doublePrecision("used_cpu_core_hours"),
    usedMemoryGibHours: doublePrecision("used_memory_gib_hours"),
    /** GPUs requested × their mean DCGM utilization × hours (Kubernetes with Prometheus); null: GPUs counted as requested. */
    usedGpuHours: doublePrecision("used_gpu_hours"),
    usageNote: text("usage_note"),
    /** Names as they were when metered, so a deleted experiment, run or model still shows its last known name. */
    experimentId: bigint("experiment_id", { mode: "number" }),
    experimentName: text("experiment_name"),
    runName: text("run_name"),
    modelName: text("model_name"),
    modelVersion: integer("model_version"),
    /** Deployments: staging or production. */
    environment: text("environment"),
  },
  (t) => [
    // A subject is metered up to its last period_end; the same interval is never written twice.
    unique("cost_ledger_subject_period_uq").on(t.subjectKind, t.subjectId, t.periodEnd),
    index("cost_ledger_team_period_idx").on(t.teamId, t.periodStart),
    index("cost_ledger_subject_idx").on(t.subjectKind, t.subjectId, t.periodEnd),
  ],
);

export const BUDGET_STEPS = ["warn", "approval", "block"] as const;
export type BudgetStepName = (typeof BUDGET_STEPS)[number];

/**
 * A team lead's (or admin's) extension of the month's approval line: new work that the approval step would hold
 * goes ahead until the month's spend passes the line raised by the month's extensions.
 */
export const budgetExtensions = pgTable(
  "budget_extensions",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    /** The first day of the calendar month (UTC) it applies to. */
    month: date("month", { mode: "string" }).notNull(),
    amountUsd: numeric("amount_usd", { precision: 14, scale: 2, mode: "number" }).notNull(),
    reason: text("reason").notNull(),
    grantedByEmail: text("granted_by_email").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("budget_extensions_team_month_idx").on(t.teamId, t.month)],
);

/**
 * A budget step a team reached in a month, recorded once (the primary key), with the webhook delivery it owes:
 * `webhookNextAt` is when the worker tries next (null: delivered, given up, or no webhook).
 */
export const budgetAlerts = pgTable(
  "budget_alerts",
  {
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    month: date("month", { mode: "string" }).notNull(),
    step: text("step").$type<BudgetStepName>().notNull(),
    reachedAt: timestamp("reached_at", { withTimezone: true }).notNull().defaultNow(),
    spentUsd: numeric("spent_usd", { precision: 16, scale: 2, mode: "number" }).notNull(),
    thresholdUsd: numeric("threshold_usd", { precision: 16, scale: 2, mode: "number" }).notNull(),
    message: text("message").notNull(),
    webhookUrl: text("webhook_url"),
    webhookAttempts: integer("webhook_attempts").notNull().default(0),
    webhookNextAt: timestamp("webhook_next_at", { withTimezone: true }),
    webhookDeliveredAt: timestamp("webhook_delivered_at", { withTimezone: true }),
    webhookError: text("webhook_error"),
  },
  (t) => [
    primaryKey({ name: "budget_alerts_pk", columns: [t.teamId, t.month, t.step] }),
    index("budget_alerts_webhook_due_idx").on(t.webhookNextAt).where(sql`${t.webhookNextAt} is not null`),
  ],
);

export const RESOURCE_KINDS = ["cpu", "memory", "gpu", "storage"] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/**
 * Per-unit prices by resource kind, set by admins: CPU per core-hour, memory per GiB-hour, GPU per GPU-hour (by GPU
 * type; the row with gpu_type '' prices any type without its own row) and storage per GiB-month. A job's or
 * replica's hourly price is split across CPU, memory and GPU in proportion to these (OpenCost's method); storage is
 * charged at its own price.
 */
export const resourcePrices = pgTable(
  "resource_prices",
  {
    kind: text("kind").$type<ResourceKind>().notNull(),
    gpuType: text("gpu_type").notNull().default(""),
    unitPriceUsd: numeric("unit_price_usd", { precision: 12, scale: 6, mode: "number" }).notNull(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ name: "resource_prices_pk", columns: [t.kind, t.gpuType] }),
    check("resource_prices_kind_ck", sql`${t.kind} in ('cpu', 'memory', 'gpu', 'storage')`),
    check("resource_prices_gpu_type_ck", sql`${t.kind} = 'gpu' or ${t.gpuType} = ''`),
    check("resource_prices_price_ck", sql`${t.unitPriceUsd} >= 0`),
  ],
);
