// Alert rules and alerts (GET/POST /api/v1/alert-rules, /api/v1/alerts, the Alerts page): input schemas and the
// DTOs the service answers, shared by the routes, the actions, the page and the OpenAPI document.
import { z } from "zod";

export const ALERT_KINDS = ["latency_p99_ms", "error_share", "drift", "canary_regression", "job_failures", "budget_share", "quota_saturation"] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export const QUOTA_RESOURCES = ["cpu", "memory_gib", "gpus"] as const;
export type QuotaResource = (typeof QUOTA_RESOURCES)[number];
export const ALERT_STATES = ["pending", "firing", "resolved"] as const;
export type AlertState = (typeof ALERT_STATES)[number];
/** A rule's state: its open alert's (pending, firing), else ok. */
export type AlertRuleState = "ok" | "pending" | "firing";

/** Kinds read from the gateway's per-minute rollups (and exported as Prometheus rules). */
export const SERVING_KINDS: readonly AlertKind[] = ["latency_p99_ms", "error_share"];
/** Kinds that watch one deployment (deployment_id required). */
export const DEPLOYMENT_KINDS: readonly AlertKind[] = [...SERVING_KINDS, "drift", "canary_regression"];
/** What a canary_regression rule compares between a split's candidate and baseline. */
export const CANARY_SIGNALS = ["error_share", "latency_p99_ms"] as const;
export type CanarySignal = (typeof CANARY_SIGNALS)[number];

/** What each kind measures, in the words the page and the notifications use. */
export const KIND_LABELS: Record<AlertKind, string> = {
  latency_p99_ms: "p99 latency (ms) of a deployment",
  error_share: "share of a deployment's answers with a 5xx status",
  drift: "drift (PSI) of a deployment's inputs or prediction against its training reference",
  canary_regression: "a traffic split's candidate over its baseline: error share (points) or p99 (ms)",
  job_failures: "failed jobs of the team in the window",
  budget_share: "month-to-date spend ÷ monthly budget",
  quota_saturation: "running jobs' CPU, memory or GPUs ÷ the team's quota",
};

const THRESHOLD_RANGE: Record<AlertKind, { max: number; hint: string }> = {
  latency_p99_ms: { max: 600_000, hint: "milliseconds from 0 to 600000, e.g. 250" },
  error_share: { max: 1, hint: "a share from 0 to 1, e.g. 0.05 for 5 %" },
  drift: { max: 100, hint: "a PSI from 0 to 100, e.g. 0.25 (a significant shift)" },
  canary_regression: { max: 600_000, hint: "percentage points of error share (e.g. 2) or milliseconds of p99 (e.g. 50), from 0" },
  job_failures: { max: 100_000, hint: "a whole number of failed jobs, at least 1" },
  budget_share: { max: 10, hint: "a share of the monthly budget from 0 to 10, e.g. 0.8 for 80 %" },
  quota_saturation: { max: 1, hint: "a share of the quota from 0 to 1, e.g. 0.9 for 90 %" },
};

const number = (name: string) => z.number({ error: `${name} must be a number` }).finite(`${name} must be a number`);

export const createAlertRuleSchema = z
  .strictObject({
    team: z.string().max(64).optional(),
    name: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,79}$/, "name is letters, digits and _ (up to 80, starting with a letter), e.g. ChurnHighLatency: Prometheus's alert names"),
    kind: z.enum(ALERT_KINDS, { error: `kind is one of ${ALERT_KINDS.join(", ")}` }),
    deployment_id: z.string().uuid("deployment_id must be a deployment's id").optional(),
    resource: z.enum(QUOTA_RESOURCES, { error: `resource is one of ${QUOTA_RESOURCES.join(", ")}` }).optional(),
    feature: z.string().min(1, "feature names a feature of the deployment's reference (or leave it out for any feature)").max(200).optional(),
    signal: z.enum(CANARY_SIGNALS, { error: `signal is one of ${CANARY_SIGNALS.join(", ")}` }).optional(),
    threshold: number("threshold").min(0, "threshold is 0 or more"),
    window_seconds: z.number({ error: "window_seconds must be a number" }).int("window_seconds is whole minutes in seconds (60, 300, …)").multipleOf(60, "window_seconds is whole minutes in seconds (60, 300, …)").min(60, "window_seconds is at least 60").max(86_400 * 31, "window_seconds is at most 31 days").optional().default(300),
    for_seconds: z.number({ error: "for_seconds must be a number" }).int("for_seconds is whole seconds").min(0, "for_seconds is 0 or more").max(86_400, "for_seconds is at most 86400 (a day)").optional().default(0),
    min_requests: z.number({ error: "min_requests must be a number" }).int("min_requests is a whole number").min(1, "min_requests is at least 1").max(1_000_000).optional().default(20),
    webhook_urls: z.array(z.string().max(2000).url("each webhook URL must be an http(s) URL").refine((u) => /^https?:\/\//i.test(u), "each webhook URL must be an http(s) URL"), { error: "webhook_urls is a list of URLs" }).max(5, "at most 5 webhook URLs").optional().default([]),
    emails: z.array(z.string().max(320).email("each email must be an email address"), { error: "emails is a list of email addresses" }).max(10, "at most 10 email addresses").optional().default([]),
  })
  .superRefine((d, c) => {
    const serving = SERVING_KINDS.includes(d.kind);
    const watchesDeployment = DEPLOYMENT_KINDS.includes(d.kind);
    if (watchesDeployment && !d.deployment_id) c.addIssue({ code: "custom", path: ["deployment_id"], message: `a ${d.kind} rule watches a deployment: give deployment_id` });
    if (d.feature !== undefined && d.kind !== "drift") c.addIssue({ code: "custom", path: ["feature"], message: "feature goes with a drift rule only" });
    if (d.kind === "canary_regression" && !d.signal) c.addIssue({ code: "custom", path: ["signal"], message: `a canary_regression rule compares one of ${CANARY_SIGNALS.join(", ")}: give signal` });
    if (d.kind !== "canary_regression" && d.signal) c.addIssue({ code: "custom", path: ["signal"], message: "signal goes with a canary_regression rule only" });
    if (!watchesDeployment && d.deployment_id) c.addIssue({ code: "custom", path: ["deployment_id"], message: `a ${d.kind} rule watches the team, not a deployment: leave deployment_id out` });
    if (d.kind === "quota_saturation" && !d.resource) c.addIssue({ code: "custom", path: ["resource"], message: `a quota_saturation rule watches one of ${QUOTA_RESOURCES.join(", ")}: give resource` });
    if (d.kind !== "quota_saturation" && d.resource) c.addIssue({ code: "custom", path: ["resource"], message: "resource goes with a quota_saturation rule only" });
    const range = THRESHOLD_RANGE[d.kind];
    if (d.threshold > range.max || (d.kind === "job_failures" && (!Number.isInteger(d.threshold) || d.threshold < 1))) {
      c.addIssue({ code: "custom", path: ["threshold"], message: `threshold for ${d.kind} is ${range.hint}` });
    }
    if (serving && d.window_seconds > 86_400) c.addIssue({ code: "custom", path: ["window_seconds"], message: "a serving rule reads at most the last 86400 seconds (a day) of rollups" });
  });
export type CreateAlertRuleInput = z.input<typeof createAlertRuleSchema>;

export const alertRulesQuery = z.strictObject({ team: z.string().max(64).optional() });
export const alertsQuery = z.strictObject({
  team: z.string().max(64).optional(),
  state: z.enum(["active", ...ALERT_STATES], { error: "state is one of active, pending, firing, resolved" }).optional(),
});

/** Silence a rule until a time (no notifications; it is still evaluated), or lift the silence with null. */
export const silenceAlertRuleSchema = z.strictObject({
  until: z.union([z.iso.datetime({ offset: true, error: "until is an ISO 8601 time such as 2026-12-05T18:00:00Z, or null to lift the silence" }), z.null()]),
});
export const silenceAlertRuleAction = silenceAlertRuleSchema.extend({ id: z.string().uuid() });
export const alertIdAction = z.strictObject({ id: z.string().uuid() });
export const createAlertRuleAction = createAlertRuleSchema;

export type AlertRuleDto = {
  id: string;
  team: string;
  name: string;
  kind: AlertKind;
  deployment_id: string | null;
  resource: QuotaResource | null;
  /** drift: the feature watched (null: any). */
  feature: string | null;
  /** canary_regression: what is compared. */
  signal: CanarySignal | null;
  threshold: number;
  window_seconds: number;
  for_seconds: number;
  min_requests: number;
  /** Webhook URLs shown as their origin only: the rest (a Slack hook's path) is a secret. */
  webhook_urls: string[];
  emails: string[];
  silenced_until: string | null;
  state: AlertRuleState;
  /** The last value the evaluator read (null: no data yet). */
  value: number | null;
  last_evaluated_at: string | null;
  active_alert_id: string | null;
  created_by: string;
  created_at: string;
  viewer_can: { edit: boolean };
};

export type AlertDto = {
  id: string;
  rule_id: string;
  rule_name: string;
  kind: AlertKind;
  team: string;
  state: AlertState;
  value: number | null;
  threshold: number;
  started_at: string;
  fired_at: string | null;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  viewer_can: { acknowledge: boolean };
};

export type AlertHistoryDto = { alert_id: string; rule_id: string; rule_name: string; at: string; state: AlertState; value: number | null; threshold: number };
