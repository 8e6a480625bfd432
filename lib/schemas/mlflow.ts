// Request schemas of the MLflow-compatible REST API (tracking). Unknown fields are ignored, as MLflow
// does (clients send both run_id and run_uuid); limits are MLflow's.
import { z } from "zod";

export const LIMITS = {
  keyLength: 250,
  paramValueLength: 6000,
  tagValueLength: 8000,
  batchMetrics: 1000,
  batchParams: 100,
  batchTags: 100,
  batchTotal: 1000,
  searchDefault: 1000,
  searchMax: 50000,
  historyPage: 25000,
  experimentName: 500,
} as const;

const KEY_PATTERN = /^[/\w.\- ]*$/;

export const keySchema = z
  .string({ error: "key is required" })
  .min(1, "key must not be empty")
  .max(LIMITS.keyLength, `key is longer than ${LIMITS.keyLength} characters`)
  .regex(KEY_PATTERN, "key may contain only alphanumerics, underscores (_), dashes (-), periods (.), spaces ( ) and slashes (/)")
  .refine((k) => !k.split("/").includes("..") && !k.startsWith("/"), "key may not contain '..' segments or start with '/'");

/** Numbers as MLflow sends them: JSON numbers, numeric strings, or "NaN"/"Infinity"/"-Infinity". */
export const metricValueSchema = z.union([
  z.number(),
  z.string().regex(/^(-?Infinity|NaN|[-+]?\d+(\.\d*)?([eE][-+]?\d+)?)$/, "value must be a number").transform(Number),
]);
// Steps and timestamps are int64 in MLflow; JavaScript holds integers exactly up to 2^53, so larger ones
// (which would lose precision, or overflow PostgreSQL's bigint) are refused rather than answered with a 500.
const int64 = z
  .union([z.number(), z.string().regex(/^-?\d{1,20}$/, "must be a whole number").transform(Number)])
  .pipe(z.number().int("must be a whole number").refine(Number.isSafeInteger, `must be between -${Number.MAX_SAFE_INTEGER} and ${Number.MAX_SAFE_INTEGER}`));

export const runIdSchema = z.string().regex(/^[0-9a-f]{32}$/, "run_id must be a 32-character run id");
export const experimentIdSchema = z.union([z.string(), z.number()]).transform(String).pipe(z.string().regex(/^\d{1,18}$/, "experiment_id must be a numeric id"));

export const tagSchema = z.object({ key: keySchema, value: z.string().max(LIMITS.tagValueLength, `tag value is longer than ${LIMITS.tagValueLength} characters`) });
export const paramSchema = z.object({
  key: keySchema,
  value: z.union([z.string(), z.number(), z.boolean()]).transform(String).pipe(z.string().max(LIMITS.paramValueLength, `param value is longer than ${LIMITS.paramValueLength} characters`)),
});
export const metricSchema = z.object({
  key: keySchema,
  value: metricValueSchema,
  timestamp: int64.optional(),
  step: int64.optional().default(0),
  model_id: z.string().optional(),
});

/** run_id, or the legacy run_uuid some clients still send alone. */
function withRunId<T extends z.ZodRawShape>(shape: T) {
  const runId = z.string({ error: "run_id is required" }).regex(/^[0-9a-f]{32}$/, "run_id must be a 32-character run id");
  return z.preprocess(
    (v) => (v && typeof v === "object" && !("run_id" in v) && "run_uuid" in v ? { ...v, run_id: (v as { run_uuid: unknown }).run_uuid } : v),
    z.object({ ...shape, run_id: runId }),
  );
}

export const createExperimentSchema = z.object({
  name: z.string({ error: "name is required" }).trim().min(1, "name must not be empty").max(LIMITS.experimentName),
  artifact_location: z.string().optional(),
  tags: z.array(tagSchema).max(100).optional().default([]),
  description: z.string().max(10000).optional(),
});
export const experimentIdBody = z.object({ experiment_id: experimentIdSchema });
export const experimentByNameQuery = z.object({ experiment_name: z.string({ error: "experiment_name is required" }).min(1) });
export const updateExperimentSchema = z.object({ experiment_id: experimentIdSchema, new_name: z.string().trim().min(1).max(LIMITS.experimentName) });
export const setExperimentTagSchema = z.object({ experiment_id: experimentIdSchema, key: keySchema, value: z.string().max(LIMITS.tagValueLength) });
export const deleteExperimentTagSchema = z.object({ experiment_id: experimentIdSchema, key: keySchema });
export const searchExperimentsSchema = z.object({
  max_results: int64.optional().default(1000).pipe(z.number().int().min(1).max(LIMITS.searchMax, `max_results is at most ${LIMITS.searchMax}`)),
  filter: z.string().max(10000).optional(),
  order_by: z.union([z.array(z.string()), z.string().transform((s) => [s])]).optional().default([]),
  page_token: z.string().optional(),
  view_type: z.enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]).optional().default("ACTIVE_ONLY"),
});

export const RUN_STATUS = z.enum(["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"], { error: "status must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED" });

export const createRunSchema = z.object({
  experiment_id: experimentIdSchema.optional(),
  user_id: z.string().max(256).optional(),
  run_name: z.string().max(250).optional(),
  start_time: int64.optional(),
  tags: z.array(tagSchema).max(LIMITS.batchTags).optional().default([]),
});
export const runIdBody = withRunId({});
export const updateRunSchema = withRunId({
  status: RUN_STATUS.optional(),
  end_time: int64.optional(),
  run_name: z.string().max(250).optional(),
});
export const logParamSchema = withRunId({ key: keySchema, value: paramSchema.shape.value });
export const setTagSchema = withRunId({ key: keySchema, value: tagSchema.shape.value });
export const deleteTagSchema = withRunId({ key: keySchema });
export const logMetricSchema = withRunId({
  key: keySchema, value: metricValueSchema, timestamp: int64.optional(), step: int64.optional().default(0), model_id: z.string().optional(),
});
export const logBatchSchema = withRunId({
  metrics: z.array(metricSchema).max(LIMITS.batchMetrics, `a batch holds at most ${LIMITS.batchMetrics} metrics`).optional().default([]),
  params: z.array(paramSchema).max(LIMITS.batchParams, `a batch holds at most ${LIMITS.batchParams} params`).optional().default([]),
  tags: z.array(tagSchema).max(LIMITS.batchTags, `a batch holds at most ${LIMITS.batchTags} tags`).optional().default([]),
}).refine((b) => b.metrics.length + b.params.length + b.tags.length <= LIMITS.batchTotal, `a batch holds at most ${LIMITS.batchTotal} items in all`);
export const logModelSchema = withRunId({ model_json: z.string().max(1_000_000) });

export const datasetSchema = z.object({
  name: z.string().min(1).max(500),
  digest: z.string().min(1).max(36),
  source_type: z.string().min(1).max(36),
  source: z.string().max(65535),
  schema: z.string().max(1_048_576).optional(),
  profile: z.string().max(16384).optional(),
});
export const logInputsSchema = withRunId({
  datasets: z.array(z.object({ tags: z.array(tagSchema).optional().default([]), dataset: datasetSchema })).max(1000).optional().default([]),
  models: z.array(z.object({ model_id: z.string() })).optional().default([]),
});
export const logOutputsSchema = withRunId({ models: z.array(z.object({ model_id: z.string(), step: int64.optional().default(0) })).min(1) });

export const searchRunsSchema = z.object({
  experiment_ids: z.array(experimentIdSchema).min(1, "experiment_ids must name at least one experiment").max(100, "experiment_ids may name at most 100 experiments; search them in several requests"),
  filter: z.string().max(10000).optional().default(""),
  run_view_type: z.enum(["ACTIVE_ONLY", "DELETED_ONLY", "ALL"]).optional().default("ACTIVE_ONLY"),
  max_results: int64.optional().default(LIMITS.searchDefault).pipe(z.number().int().min(1, "max_results must be positive").max(LIMITS.searchMax, `max_results is at most ${LIMITS.searchMax}`)),
  order_by: z.array(z.string()).max(10).optional().default([]),
  page_token: z.string().max(500).optional(),
});

export const metricHistorySchema = withRunId({
  metric_key: keySchema,
  max_results: int64.optional().default(LIMITS.historyPage).pipe(z.number().int().min(1).max(LIMITS.historyPage, `max_results is at most ${LIMITS.historyPage}`)),
  page_token: z.string().max(200).optional(),
});
export const sampledHistorySchema = withRunId({
  metric_key: keySchema,
  max_points: int64.optional().default(1000).pipe(z.number().int().min(4, "max_points is at least 4").max(5000, "max_points is at most 5000")),
  start_step: int64.optional(),
  end_step: int64.optional(),
});
export const listArtifactsSchema = withRunId({ path: z.string().max(1024).optional().default(""), page_token: z.string().optional() });

export type CreateRunInput = z.infer<typeof createRunSchema>;
export type LogBatchInput = z.infer<typeof logBatchSchema>;
export type SearchRunsInput = z.infer<typeof searchRunsSchema>;
