// Platform API (/api/v1) schemas for experiments and runs.
import { z } from "zod";
import type { MetricValue } from "../format-metric";

export const createExperimentBody = z.strictObject({
  name: z.string().trim().min(1, "Give the experiment a name").max(500, "Keep the name under 500 characters"),
  description: z.string().max(10000).optional(),
  team: z.string().trim().min(1).optional(),
});
export type CreateExperimentBody = z.infer<typeof createExperimentBody>;

export const listExperimentsQuery = z.strictObject({
  team: z.string().trim().min(1).optional(),
  q: z.string().max(200).optional(),
  page_token: z.string().max(200).optional(),
  max_results: z.coerce.number().int().min(1).max(1000).default(100),
  view: z.enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]).default("ACTIVE_ONLY"),
});

export const browseRunsQuery = z.strictObject({
  filter: z.string().max(10000).optional(),
  order_by: z.string().max(500).optional(),
  page_size: z.coerce.number().int().min(1).max(1000).default(100),
  page_token: z.string().max(200).optional(),
  view: z.enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]).default("ACTIVE_ONLY"),
});

export const previewQuery = z.strictObject({ path: z.string().min(1, "path is required").max(1024) });

/** One row of the runs table: a run with its params, latest metrics and tags by key. */
export type RunRowDto = {
  run_id: string;
  run_name: string;
  status: string;
  start_time: number;
  end_time: number | null;
  user_id: string;
  parent_run_id: string | null;
  lifecycle_stage: string;
  params: Record<string, string>;
  metrics: Record<string, MetricValue>;
  tags: Record<string, string>;
};
