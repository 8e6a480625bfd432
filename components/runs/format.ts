import type { MetricValue } from "@/lib/format-metric";

export function formatMetric(v: MetricValue | undefined): string {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(3) : v.toFixed(4).replace(/0+$/, "").replace(/\.$/, "");
}

export function formatDuration(ms: number | null): string {
  if (ms === null || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export const STATUS_TONE: Record<string, "green" | "red" | "amber" | "blue" | "neutral"> = {
  FINISHED: "green", FAILED: "red", KILLED: "amber", RUNNING: "blue", SCHEDULED: "neutral",
};
