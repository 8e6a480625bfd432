// The platform's own time series, for the admins' Platform page when no Prometheus is there
// (server/observability/api-rollups.ts, server/observability/platform-samples.ts); kept 30 days.
import { doublePrecision, integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * API requests per minute, endpoint template ("/api/v1/jobs/[id]", never a raw id), method and status class.
 * Rows are added to, never rewritten, so every process's flushes sum up.
 */
export const apiRequestMinutes = pgTable(
  "api_request_minutes",
  {
    /** The minute's start. */
    minute: timestamp("minute", { withTimezone: true }).notNull(),
    endpoint: text("endpoint").notNull(),
    method: text("method").notNull(),
    /** "2xx", "3xx", "4xx" or "5xx". */
    statusClass: text("status_class").notNull(),
    requests: integer("requests").notNull(),
    /** Answers with a 5xx status (the requests of a "5xx" row, 0 in the others). */
    errors: integer("errors").notNull(),
    latencyMsSum: doublePrecision("latency_ms_sum").notNull(),
    /** Requests per latency bucket (LATENCY_BUCKETS_MS, then one past the last bound), not cumulative. */
    latencyBuckets: integer("latency_buckets").array().notNull(),
  },
  (t) => [primaryKey({ columns: [t.minute, t.endpoint, t.method, t.statusClass] })],
);

/** The job queue and active users, sampled once a minute by the leading worker. */
export const platformMinutes = pgTable("platform_minutes", {
  minute: timestamp("minute", { withTimezone: true }).primaryKey(),
  /** Jobs queued or admitted, not yet started. */
  queueDepth: integer("queue_depth").notNull(),
  /** How long the longest-waiting of them had waited (0 with none). */
  queueOldestWaitSeconds: doublePrecision("queue_oldest_wait_seconds").notNull(),
  runningJobs: integer("running_jobs").notNull(),
  /** Distinct users with an API request or a page view in the last 15 minutes (as platform_active_users). */
  activeUsers: integer("active_users").notNull(),
  /** … in the last hour. */
  activeUsersHour: integer("active_users_hour").notNull(),
});
