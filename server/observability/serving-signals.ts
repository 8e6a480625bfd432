// The data side of serving alerts (issue 17, item 4) on p99 latency and error share: one rule definition, read
// two ways. Cairn evaluates it on its own per-minute rollups (always there); with Prometheus configured the same
// rule is exported as a Prometheus alerting rule over the gateway's counters, so Prometheus can evaluate it too.
// Both read "the last window_seconds": the rollups as whole minutes (the one in progress included), Prometheus
// with increase() over the range. Latency percentiles come from each side's histogram, whose buckets differ
// (server/observability/inference-rollups.ts vs platform_inference_latency_seconds), so the two p99s can differ
// within a bucket; error shares agree. The alert states, history and notifications are not built here.
import { AppError } from "../errors";
import type { DbOrTx } from "@/db/client";
import { rollupTotals } from "../deployments/metrics-rollups";
import { quantileFromBuckets } from "./inference-rollups";
import { queryInstant } from "./prometheus";

export const SERVING_SIGNALS = ["latency_p99_ms", "error_share"] as const;
export type ServingSignal = (typeof SERVING_SIGNALS)[number];

/** Breaching while the signal over the last `windowSeconds` is above `threshold`, once at least `minRequests` answers were seen in it. */
export type ServingRule = {
  signal: ServingSignal;
  deploymentId: string;
  /** ms for latency_p99_ms; a share 0–1 for error_share. */
  threshold: number;
  windowSeconds: number;
  /** Fewer answers in the window say nothing (no data): one 5xx of two answers is not a 50 % error share worth waking anyone for. */
  minRequests: number;
};

export type SignalReading = {
  signal: ServingSignal;
  /** Null when there were no answers in the window. */
  value: number | null;
  requests: number;
  window_seconds: number;
  source: "cairn" | "prometheus";
  /** Null: fewer than minRequests answers, so no verdict. */
  breaching: boolean | null;
};

/** Refuses a rule that cannot be read the same on both sides, with what to change. */
export function checkServingRule(rule: ServingRule): void {
  const fields: Record<string, string[]> = {};
  if (!SERVING_SIGNALS.includes(rule.signal)) fields.signal = [`one of ${SERVING_SIGNALS.join(", ")}`];
  if (!Number.isInteger(rule.windowSeconds) || rule.windowSeconds % 60 !== 0 || rule.windowSeconds < 60 || rule.windowSeconds > 86_400) fields.window_seconds = ["whole minutes from 60 to 86400 (the rollups are per minute)"];
  if (!Number.isFinite(rule.threshold) || rule.threshold < 0 || (rule.signal === "error_share" && rule.threshold > 1)) {
    fields.threshold = [rule.signal === "error_share" ? "a share from 0 to 1, e.g. 0.05 for 5 %" : "milliseconds, 0 or more"];
  }
  if (!Number.isInteger(rule.minRequests) || rule.minRequests < 1) fields.min_requests = ["a whole number of answers, at least 1"];
  if (!/^[0-9a-f-]{36}$/.test(rule.deploymentId)) fields.deployment_id = ["a deployment id"];
  if (Object.keys(fields).length > 0) throw new AppError("invalid_input", `This alert rule cannot be evaluated: ${Object.entries(fields).map(([k, v]) => `${k} must be ${v[0]}`).join("; ")}.`, { fields });
}

const verdict = (rule: ServingRule, value: number | null, requests: number): boolean | null => (requests < rule.minRequests || value === null ? null : value > rule.threshold);

/**
 * The rule's signal from Cairn's rollups: the last windowSeconds / 60 minutes up to now, the minute in progress
 * included. `version` narrows it to the answers of one model version (a canary's); the deployment's own version
 * stands for answers recorded without one.
 */
export async function readSignalFromRollups(db: DbOrTx, rule: ServingRule & { deploymentVersion: number; version?: number }, now = Date.now() / 1000): Promise<SignalReading> {
  checkServingRule(rule);
  const to = Math.floor(now / 60) * 60 + 60;
  const t = await rollupTotals(db, { deploymentId: rule.deploymentId, deploymentVersion: rule.deploymentVersion, version: rule.version, from: to - rule.windowSeconds, to });
  const value = t.requests === 0 ? null : rule.signal === "error_share" ? t.errors5xx / t.requests : quantileFromBuckets(t.buckets, 0.99);
  return { signal: rule.signal, value, requests: t.requests, window_seconds: rule.windowSeconds, source: "cairn", breaching: verdict(rule, value, t.requests) };
}

/** PromQL for the rule's parts over the gateway's counters: the signal, and the answers in the window. */
export function signalPromQL(rule: ServingRule): { value: string; requests: string } {
  checkServingRule(rule);
  const sel = `deployment="${rule.deploymentId}"`;
  const range = `${rule.windowSeconds}s`;
  const requests = `sum(increase(platform_inference_answers_total{${sel}}[${range}]))`;
  const value = rule.signal === "error_share"
    ? `sum(increase(platform_inference_errors_total{${sel}}[${range}])) / ${requests}`
    : `histogram_quantile(0.99, sum by (le) (increase(platform_inference_latency_seconds_bucket{${sel}}[${range}]))) * 1000`;
  return { value, requests };
}

/** The rule's signal as the Prometheus at `url` reads it now (the same expressions the exported rule uses). */
export async function readSignalFromPrometheus(url: string, rule: ServingRule, at?: number): Promise<SignalReading> {
  const q = signalPromQL(rule);
  const [value, requests] = await Promise.all([queryInstant(url, q.value, at), queryInstant(url, q.requests, at)]);
  const n = requests ?? 0;
  return { signal: rule.signal, value, requests: n, window_seconds: rule.windowSeconds, source: "prometheus", breaching: verdict(rule, value, n) };
}

export type PrometheusAlertingRule = { alert: string; expr: string; for: string; labels: Record<string, string>; annotations: Record<string, string> };

const describeThreshold = (rule: ServingRule) => (rule.signal === "error_share" ? `${Math.round(rule.threshold * 10_000) / 100} % of answers with a 5xx status` : `a p99 latency of ${rule.threshold} ms`);

/**
 * The rule as a Prometheus alerting rule: fires when the signal is above the threshold with at least minRequests
 * answers in the window, for `forSeconds` (Prometheus's pending → firing).
 */
export function toPrometheusAlertingRule(rule: ServingRule & { name: string; team: string; forSeconds: number }): PrometheusAlertingRule {
  const q = signalPromQL(rule);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(rule.name)) throw new AppError("invalid_input", "An alert's name must be letters, digits and underscores, starting with a letter (Prometheus's alert names).", { fields: { name: ["letters, digits and _"] } });
  if (!Number.isInteger(rule.forSeconds) || rule.forSeconds < 0) throw new AppError("invalid_input", "for_seconds must be a whole number of seconds, 0 or more.", { fields: { for_seconds: ["0 or more"] } });
  return {
    alert: rule.name,
    expr: `(${q.value}) > ${rule.threshold} and on() (${q.requests}) >= ${rule.minRequests}`,
    for: `${rule.forSeconds}s`,
    labels: { team: rule.team, deployment: rule.deploymentId, signal: rule.signal, source: "cairn" },
    annotations: {
      summary: `Deployment ${rule.deploymentId} (team ${rule.team}) is over ${describeThreshold(rule)} across the last ${rule.windowSeconds / 60} min`,
    },
  };
}

/**
 * A Prometheus rule file (`rule_files:`) holding the rules. JSON is YAML, so Prometheus and promtool read it as is.
 */
export function prometheusRuleFile(rules: PrometheusAlertingRule[], group = "cairn-serving"): string {
  return `${JSON.stringify({ groups: [{ name: group, rules }] }, null, 2)}\n`;
}
