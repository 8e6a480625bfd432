// Turns the answer's dense series into a stack a chart can draw: the biggest keys on their own,
// the rest summed as "other", so a chart never has more than a handful of colours.
import type { CostSeries } from "./types";

export const OTHER_KEY = "other";

export type SpendStack = { keys: string[]; rows: { t: number; amounts: number[] }[] };

const cents = (n: number) => Math.round(n * 100) / 100;

/** Series arrive ordered by total, largest first (as the service returns them). */
export function stackSeries(series: CostSeries[], limit = 8): SpendStack {
  const top = series.length > limit ? series.slice(0, limit) : series;
  const rest = series.length > limit ? series.slice(limit) : [];
  const keys = [...top.map((s) => s.key), ...(rest.length ? [OTHER_KEY] : [])];
  const times = series[0]?.points.map(([t]) => t) ?? [];
  const rows = times.map((t, i) => ({
    t,
    amounts: [
      ...top.map((s) => s.points[i]?.[1] ?? 0),
      ...(rest.length ? [cents(rest.reduce((sum, s) => sum + (s.points[i]?.[1] ?? 0), 0))] : []),
    ],
  }));
  return { keys, rows };
}

/** A bucket's start as a UTC day, "2025-03-14". */
export const dayOf = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
