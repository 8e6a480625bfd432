// Platform API (/api/v1) schemas for the experiment chart panel: every run of the runs table's filter.
import { z } from "zod";

/** A chart covers the newest runs of the filter up to this many (the panel says when there are more). */
export const CHART_RUN_LIMIT = 10_000;
/** Run attributes a chart can plot besides params and metrics (duration in seconds). */
export const CHART_ATTRIBUTES = ["run_name", "status", "user_id", "start_time", "end_time", "duration"] as const;

export type ChartKey = `params.${string}` | `metrics.${string}` | `attributes.${string}`;
const CHART_KEY = /^(params|metrics|attributes)\.\S/;

const filter = z.string().max(10000, "Keep the filter under 10,000 characters").optional();

export const chartRunsQuery = z.strictObject({
  filter,
  keys: z
    .string()
    .max(20000)
    .transform((raw) => raw.split(",").map((k) => k.trim()).filter(Boolean))
    .pipe(
      z.array(z.string().regex(CHART_KEY, "Each key is params.<name>, metrics.<name> or attributes.<name>, comma-separated").max(250))
        .max(50, "Ask for at most 50 keys at once"),
    )
    .transform((keys) => keys as ChartKey[])
    .default([]),
});

export const chartHistoryQuery = z.strictObject({
  filter,
  metric: z.string().min(1, "metric is required: the metric key to chart (e.g. metric=loss)").max(250),
  max_points: z.coerce.number().int().min(8, "max_points is at least 8").max(1000, "max_points is at most 1000").default(200),
});

export const chartImportanceQuery = z.strictObject({
  filter,
  objective: z.string().min(1, "objective is required: the metric whose importance to explain (e.g. objective=val_auc)").max(250),
  params: z
    .string()
    .max(20000)
    .transform((raw) => raw.split(",").map((k) => k.trim()).filter(Boolean))
    .pipe(z.array(z.string().min(1).max(250)).max(100, "Ask about at most 100 params"))
    .optional(),
});

export type ChartRunsDto = {
  total: number;
  truncated: boolean;
  runs: { run_id: string; run_name: string; status: string; parent_run_id: string | null }[];
  /** One array per requested key, aligned with `runs` (null where a run lacks the key). */
  values: Record<string, (number | string | null)[]>;
};

export type ChartHistoriesDto = {
  metric: string;
  points_per_run: number;
  runs: { run_id: string; total_points: number; sampled: boolean; steps: number[]; values: number[] }[];
};

export type ImportanceDto = {
  objective: string;
  available: boolean;
  /** Why importances are missing (library not installed, too few runs), or how they were computed. */
  message: string;
  method: string | null;
  runs_used: number;
  importances: { param: string; importance: number; kind: "numeric" | "categorical" }[];
};
