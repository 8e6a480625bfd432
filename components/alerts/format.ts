// How alert values, thresholds and states read on the Alerts page.
import type { AlertKind, AlertRuleState, AlertState } from "@/lib/schemas/alerts";

export function formatAlertValue(kind: AlertKind, v: number | null, signal: string | null = null): string {
  if (v === null) return "no data";
  if (kind === "latency_p99_ms") return `${Math.round(v * 10) / 10} ms`;
  if (kind === "drift") return `PSI ${Math.round(v * 1000) / 1000}`;
  if (kind === "canary_regression") return signal === "latency_p99_ms" ? `+${Math.round(v * 10) / 10} ms p99` : signal === "error_share" ? `+${Math.round(v * 100) / 100} points` : `+${Math.round(v * 100) / 100}`;
  if (kind === "job_failures") return `${v} failed`;
  return `${Math.round(v * 1000) / 10} %`;
}

export const STATE_TONE: Record<AlertRuleState | AlertState, "neutral" | "red" | "amber" | "green"> = {
  ok: "green", pending: "amber", firing: "red", resolved: "neutral",
};

export function formatDuration(seconds: number): string {
  if (seconds === 0) return "at once";
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
