// Costs: what each job and deployment cost, metered as it runs — one row per subject per metering
// interval, with the quantity (hours; replica-hours for deployments), the unit price it ran at, and the
// amount. Sums over any window and grouping come from here.
import { sql } from "drizzle-orm";
import { bigserial, doublePrecision, index, numeric, pgTable, text, timestamp, unique, uuid } from "drizzle-orm/pg-core";
import { teams } from "./tenancy";

export const COST_SUBJECTS = ["job", "deployment"] as const;
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
  },
  (t) => [
    // A subject is metered up to its last period_end; the same interval is never written twice.
    unique("cost_ledger_subject_period_uq").on(t.subjectKind, t.subjectId, t.periodEnd),
    index("cost_ledger_team_period_idx").on(t.teamId, t.periodStart),
    index("cost_ledger_subject_idx").on(t.subjectKind, t.subjectId, t.periodEnd),
  ],
);
