"use client";

import { useQuery } from "@tanstack/react-query";
import type { ChartHistoriesDto, ChartRunsDto, ImportanceDto } from "@/lib/schemas/charts";

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as T & { error?: { message?: string } };
  if (!res.ok) throw new Error(body.error?.message ?? `The chart data did not load (${res.status}).`);
  return body;
}

function url(experimentId: string, path: string, q: Record<string, string>): string {
  const params = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== ""));
  return `/api/v1/experiments/${encodeURIComponent(experimentId)}/charts/${path}?${params}`;
}

/** The chosen keys' values for every run of the filter (one request for all the panels that plot runs as points). */
export function useChartRuns(experimentId: string, filter: string, keys: string[]) {
  const sorted = [...new Set(keys)].sort();
  return useQuery({
    queryKey: ["chart-runs", experimentId, filter, sorted.join(",")],
    queryFn: () => getJson<ChartRunsDto>(url(experimentId, "runs", { filter, keys: sorted.join(",") })),
    staleTime: 30_000,
    placeholderData: (prev) => prev,
  });
}

/** One metric's history for every run of the filter, downsampled per run by the server. */
export function useChartHistories(experimentId: string, filter: string, metric: string) {
  return useQuery({
    queryKey: ["chart-history", experimentId, filter, metric],
    queryFn: () => getJson<ChartHistoriesDto>(url(experimentId, "history", { filter, metric, max_points: "200" })),
    enabled: metric !== "",
    staleTime: 30_000,
  });
}

export function useImportance(experimentId: string, filter: string, objective: string, params: string[]) {
  return useQuery({
    queryKey: ["chart-importance", experimentId, filter, objective, params.join(",")],
    queryFn: () => getJson<ImportanceDto>(url(experimentId, "importance", { filter, objective, params: params.join(",") })),
    enabled: objective !== "",
    staleTime: 60_000,
  });
}
