import type { MetricValue } from "@/lib/format-metric";
import { formatDurationSeconds } from "@/lib/format";

export function formatMetric(v: MetricValue | undefined): string {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(3) : v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
}

/** A run's duration (milliseconds): the one duration format (lib/format). */
export function formatDuration(ms: number | null): string {
  if (ms === null || ms < 0) return "—";
  return formatDurationSeconds(ms / 1000);
}

export const STATUS_TONE: Record<string, "green" | "red" | "amber" | "blue" | "neutral"> = {
  FINISHED: "green", FAILED: "red", KILLED: "amber", RUNNING: "blue", SCHEDULED: "neutral",
};
