// Append-only, hash-chained audit trail. Each row's hash covers its fields and the previous row's hash:
// hash_version 1 = plain SHA-256 (rows written before migration 0018), 2 = HMAC-SHA256 under the audit key
// (server/env.ts auditKey), whose fingerprint is key_id. UPDATE, DELETE and TRUNCATE are refused by triggers.
import { sql } from "drizzle-orm";
import { bigserial, check, index, jsonb, pgTable, smallint, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const AUDIT_OUTCOMES = ["allowed", "denied", "error"] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];
export const ACTOR_TYPES = ["user", "token", "system", "anonymous"] as const;
export type ActorType = (typeof ACTOR_TYPES)[number];

export const auditEvents = pgTable(
  "audit_events",
  {
    id: bigserial("id", { mode: "number" }).primaryKey(),
    at: timestamp("at", { withTimezone: true, precision: 3 }).notNull(),
    actorType: text("actor_type").$type<ActorType>().notNull(),
    actorId: text("actor_id"),
    actor: text("actor").notNull(),
    action: text("action").notNull(),
    target: text("target").notNull(),
    teamId: uuid("team_id"),
    team: text("team"),
    outcome: text("outcome").$type<AuditOutcome>().notNull(),
    requestId: text("request_id"),
    ip: text("ip"),
    userAgent: text("user_agent"),
    details: jsonb("details").$type<Record<string, unknown>>().notNull().default({}),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
    hashVersion: smallint("hash_version").$type<1 | 2>().notNull(),
    keyId: text("key_id"),
  },
  (t) => [
    index("audit_events_team_idx").on(t.teamId, t.id),
    index("audit_events_at_idx").on(t.at),
    check("audit_events_outcome_check", sql`${t.outcome} in ('allowed', 'denied', 'error')`),
    check("audit_events_hash_version_check", sql`${t.hashVersion} in (1, 2)`),
  ],
);
