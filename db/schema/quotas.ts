// Per-team quotas and the admin-managed catalog of instance types (with hourly prices).
import { doublePrecision, integer, jsonb, numeric, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
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
  storageGib: doublePrecision("storage_gib"),
  monthlyBudgetUsd: numeric("monthly_budget_usd", { precision: 14, scale: 2, mode: "number" }).notNull(),
  updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
});

export const instanceTypes = pgTable("instance_types", {
  name: text("name").primaryKey(),
  cpu: doublePrecision("cpu").notNull(),
  memoryGib: doublePrecision("memory_gib").notNull(),
  gpuType: text("gpu_type"),
  gpuCount: integer("gpu_count").notNull().default(0),
  hourlyPriceUsd: numeric("hourly_price_usd", { precision: 12, scale: 4, mode: "number" }).notNull(),
});
