"use client";

import { useQueries } from "@tanstack/react-query";
import type { MetricValue } from "@/lib/format-metric";
import { toNumber } from "@/lib/format-metric";

export type Point = { step: number; timestamp: number; value: number };
export type Series = { runId: string; runName: string; key: string; points: Point[]; sampled: boolean; total: number };

type Sampled = { key: string; total_points: number; sampled: boolean; metrics: { step: number; timestamp: number; value: MetricValue }[] };

/** Downsampled (≤ maxPoints, extremes kept) histories for each run × metric, refetched on zoom. */
export function useMetricHistories(
  runs: { id: string; name: string }[],
  keys: string[],
  range?: { start?: number; end?: number },
  maxPoints = 1000,
): { series: Series[]; isLoading: boolean; error?: string } {
  const pairs = runs.flatMap((r) => keys.map((k) => ({ run: r, key: k })));
  const results = useQueries({
    queries: pairs.map(({ run, key }) => ({
      queryKey: ["metric-history", run.id, key, range?.start ?? null, range?.end ?? null, maxPoints],
      queryFn: async (): Promise<Sampled> => {
        const q = new URLSearchParams({ run_id: run.id, metric_key: key, max_points: String(maxPoints) });
        if (range?.start !== undefined) q.set("start_step", String(Math.floor(range.start)));
        if (range?.end !== undefined) q.set("end_step", String(Math.ceil(range.end)));
        const res = await fetch(`/ajax-api/2.0/mlflow/metrics/get-history-sampled?${q}`);
        const body = (await res.json()) as Sampled & { message?: string };
        if (!res.ok) throw new Error(body.message ?? `Could not load ${key}`);
        return body;
      },
      staleTime: 15_000,
    })),
  });
  const error = results.find((r) => r.error)?.error;
  return {
    isLoading: results.some((r) => r.isLoading),
    error: error instanceof Error ? error.message : undefined,
    series: results.flatMap((r, i) => {
      if (!r.data) return [];
      const { run, key } = pairs[i]!;
      return [{ runId: run.id, runName: run.name, key, sampled: r.data.sampled, total: r.data.total_points, points: r.data.metrics.map((m) => ({ step: m.step, timestamp: m.timestamp, value: toNumber(m.value) })) }];
    }),
  };
}
