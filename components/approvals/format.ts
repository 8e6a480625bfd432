// Shared labels for approval requests: status tones, who decides, and which way a metric should move.

export const APPROVAL_STATUSES = ["pending", "approved", "rejected", "expired", "cancelled"] as const;

export const APPROVAL_TONE: Record<string, "neutral" | "green" | "red" | "amber" | "blue" | "teal"> = {
  pending: "amber", approved: "green", rejected: "red", expired: "neutral", cancelled: "neutral",
};

/** Where a pending request stands for the person looking at it. */
export function decisionLabel({ isMine, canDecide }: { isMine: boolean; canDecide: boolean }): string {
  if (isMine) return canDecide ? "waiting for another lead" : "yours — a lead decides";
  return canDecide ? "Your decision" : "waiting for a team lead";
}

/** Losses, errors and latencies improve downwards; everything else (auc, accuracy, f1…) upwards. */
const LOWER_IS_BETTER = /loss|error|rmse|mae|mse|latency/i;

export type MetricChange = { delta: number; direction: "better" | "worse" | "same" } | null;

/** The candidate's value minus production's, and whether that is an improvement; null when either side is missing. */
export function metricChange(key: string, candidate: number | null, current: number | null): MetricChange {
  if (candidate === null || current === null || !Number.isFinite(candidate) || !Number.isFinite(current)) return null;
  const delta = candidate - current;
  if (delta === 0) return { delta, direction: "same" };
  const improved = LOWER_IS_BETTER.test(key) ? delta < 0 : delta > 0;
  return { delta, direction: improved ? "better" : "worse" };
}

/** A metric value at a readable precision (four decimals, exponent for very small or large values). */
export function formatValue(v: number | null): string {
  if (v === null) return "—";
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(3) : v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
}

/** A difference with its sign: +0.0123, −0.5, ±0. */
export function formatDelta(delta: number): string {
  if (delta === 0) return "±0";
  return `${delta > 0 ? "+" : "−"}${formatValue(Math.abs(delta))}`;
}
