// Alerts (issue 17): a team's stored rules, each rule's alerts (one open at a time: pending or firing, then
// resolved), every state change as a history row, and each notification a row that one sender claims.
import { sql } from "drizzle-orm";
import { bigserial, doublePrecision, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { deployments } from "./deployments";
import { teams } from "./tenancy";

import type { AlertKind, AlertState, CanarySignal, QuotaResource } from "@/lib/schemas/alerts";

export type NotificationChannel = "webhook" | "email";
export type NotificationStatus = "pending" | "sending" | "sent" | "failed";

export const alertRules = pgTable(
  "alert_rules",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    kind: text("kind").$type<AlertKind>().notNull(),
    /** The deployment a serving rule watches (latency_p99_ms, error_share). */
    deploymentId: uuid("deployment_id").references(() => deployments.id, { onDelete: "cascade" }),
    /** What a quota_saturation rule watches. */
    resource: text("resource").$type<QuotaResource>(),
    /** The feature a drift rule watches (null: any feature or the prediction). */
    feature: text("feature"),
    /** What a canary_regression rule compares: the candidate's error share (points) or p99 (ms) over the baseline's. */
    signal: text("signal").$type<CanarySignal>(),
    threshold: doublePrecision("threshold").notNull(),
    windowSeconds: integer("window_seconds").notNull(),
    forSeconds: integer("for_seconds").notNull(),
    minRequests: integer("min_requests").notNull().default(20),
    webhookUrls: jsonb("webhook_urls").$type<string[]>().notNull().default([]),
    emails: jsonb("emails").$type<string[]>().notNull().default([]),
    silencedUntil: timestamp("silenced_until", { withTimezone: true }),
    lastValue: doublePrecision("last_value"),
    lastEvaluatedAt: timestamp("last_evaluated_at", { withTimezone: true }),
    createdByEmail: text("created_by_email").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("alert_rules_team_name_idx").on(t.teamId, t.name)],
);

export const alerts = pgTable(
  "alerts",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    ruleId: uuid("rule_id").notNull().references(() => alertRules.id, { onDelete: "cascade" }),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    state: text("state").$type<AlertState>().notNull(),
    value: doublePrecision("value"),
    threshold: doublePrecision("threshold").notNull(),
    /** When the rule began to breach (pending). */
    startedAt: timestamp("started_at", { withTimezone: true }).notNull(),
    firedAt: timestamp("fired_at", { withTimezone: true }),
    resolvedAt: timestamp("resolved_at", { withTimezone: true }),
    /** The last firing notification (first or repeat) queued for it. */
    notifiedAt: timestamp("notified_at", { withTimezone: true }),
    repeats: integer("repeats").notNull().default(0),
    acknowledgedAt: timestamp("acknowledged_at", { withTimezone: true }),
    acknowledgedByEmail: text("acknowledged_by_email"),
  },
  (t) => [
    uniqueIndex("alerts_one_open_per_rule_idx").on(t.ruleId).where(sql`"state" in ('pending', 'firing')`),
    index("alerts_team_started_idx").on(t.teamId, t.startedAt),
  ],
);

export const alertHistory = pgTable(
  "alert_history",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    alertId: uuid("alert_id").notNull().references(() => alerts.id, { onDelete: "cascade" }),
    ruleId: uuid("rule_id").notNull(),
    teamId: uuid("team_id").notNull(),
    at: timestamp("at", { withTimezone: true }).notNull(),
    state: text("state").$type<AlertState>().notNull(),
    value: doublePrecision("value"),
    threshold: doublePrecision("threshold").notNull(),
  },
  (t) => [index("alert_history_team_at_idx").on(t.teamId, t.at)],
);

export const alertNotifications = pgTable(
  "alert_notifications",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    alertId: uuid("alert_id").notNull().references(() => alerts.id, { onDelete: "cascade" }),
    teamId: uuid("team_id").notNull(),
    /** "firing", "repeat-<n>" or "resolved": with the target, what makes a notification unique. */
    event: text("event").notNull(),
    channel: text("channel").$type<NotificationChannel>().notNull(),
    target: text("target").notNull(),
    payload: jsonb("payload").$type<Record<string, unknown>>().notNull(),
    status: text("status").$type<NotificationStatus>().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    nextAttemptAt: timestamp("next_attempt_at", { withTimezone: true }).notNull(),
    claimedUntil: timestamp("claimed_until", { withTimezone: true }),
    lastError: text("last_error"),
    sentAt: timestamp("sent_at", { withTimezone: true }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("alert_notifications_once_idx").on(t.alertId, t.event, t.channel, t.target),
    index("alert_notifications_due_idx").on(t.status, t.nextAttemptAt),
  ],
);
