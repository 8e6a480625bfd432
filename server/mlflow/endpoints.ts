// The MLflow tracking REST API (/api/2.0/mlflow/…): each endpoint parses MLflow's request shape and
// calls one tracking service. Shapes follow MLflow's protobuf JSON (see shared/reference/).
import { z } from "zod";
import * as s from "@/lib/schemas/mlflow";
import { listRunArtifacts } from "../tracking/artifacts";
import {
  createExperiment, deleteExperimentTag, getExperiment, getExperimentByName, renameExperiment, searchExperiments,
  setExperimentLifecycle, setExperimentTag,
} from "../tracking/experiments";
import { getMetricHistory, getSampledHistory } from "../tracking/history";
import {
  createLoggedModel, deleteLoggedModel, deleteLoggedModelTag, finalizeLoggedModel, getLoggedModel, searchLoggedModels, setLoggedModelTags,
} from "../tracking/logged-models";
import { logBatch, logInputs, logMetric, logModel, logOutputs, logParam } from "../tracking/logging";
import { createRun, deleteRunTag, getRun, setRunLifecycle, setRunTag, updateRun } from "../tracking/runs";
import { searchRunsJson } from "../tracking/search";
import { decodeParam } from "../http/api-route";
import type { Endpoint } from "./endpoint";
import { ep } from "./endpoint";
import { REGISTRY_ENDPOINTS } from "./registry-endpoints";

const EMPTY = {};
const anyBody = z.object({}).passthrough();
const loggedModelCreate = z.object({
  experiment_id: s.experimentIdSchema,
  name: z.string().max(500).optional(),
  source_run_id: z.string().optional(),
  model_type: z.string().max(500).optional(),
  params: z.array(s.paramSchema).max(1000).optional(),
  tags: z.array(s.tagSchema).max(1000).optional(),
});
const loggedModelSearch = z.object({
  experiment_ids: z.array(s.experimentIdSchema).min(1),
  filter: z.string().max(10000).optional(),
  max_results: z.coerce.number().int().min(1).max(1000).optional(),
  page_token: z.string().optional(),
});
const MODEL = "(m-[0-9a-f]{32})";

export const ENDPOINTS: Endpoint[] = [
  // experiments
  ep("POST", "experiments/create", s.createExperimentSchema, async (ctx, b) => ({ experiment_id: (await createExperiment(ctx, b)).experiment_id })),
  ep("GET", "experiments/get", s.experimentIdBody, async (ctx, q) => ({ experiment: await getExperiment(ctx, q.experiment_id) })),
  ep("GET", "experiments/get-by-name", s.experimentByNameQuery, async (ctx, q) => ({ experiment: await getExperimentByName(ctx, q.experiment_name) })),
  ep("POST", "experiments/search", s.searchExperimentsSchema, (ctx, b) => searchExperiments(ctx, b)),
  ep("GET", "experiments/search", s.searchExperimentsSchema, (ctx, b) => searchExperiments(ctx, b)),
  ep("POST", "experiments/update", s.updateExperimentSchema, async (ctx, b) => { await renameExperiment(ctx, b.experiment_id, b.new_name); return EMPTY; }),
  ep("POST", "experiments/delete", s.experimentIdBody, async (ctx, b) => { await setExperimentLifecycle(ctx, b.experiment_id, "deleted"); return EMPTY; }),
  ep("POST", "experiments/restore", s.experimentIdBody, async (ctx, b) => { await setExperimentLifecycle(ctx, b.experiment_id, "active"); return EMPTY; }),
  ep("POST", "experiments/set-experiment-tag", s.setExperimentTagSchema, async (ctx, b) => { await setExperimentTag(ctx, b.experiment_id, b.key, b.value); return EMPTY; }),
  ep("POST", "experiments/delete-experiment-tag", s.deleteExperimentTagSchema, async (ctx, b) => { await deleteExperimentTag(ctx, b.experiment_id, b.key); return EMPTY; }),
  // runs
  ep("POST", "runs/create", s.createRunSchema, async (ctx, b) => ({ run: await createRun(ctx, b) })),
  ep("GET", "runs/get", s.runIdBody, async (ctx, q) => ({ run: await getRun(ctx, q.run_id) })),
  ep("POST", "runs/update", s.updateRunSchema, async (ctx, b) => ({ run_info: await updateRun(ctx, b) })),
  ep("POST", "runs/delete", s.runIdBody, async (ctx, b) => { await setRunLifecycle(ctx, b.run_id, "deleted"); return EMPTY; }),
  ep("POST", "runs/restore", s.runIdBody, async (ctx, b) => { await setRunLifecycle(ctx, b.run_id, "active"); return EMPTY; }),
  ep("POST", "runs/search", s.searchRunsSchema, (ctx, b) => searchRunsJson(ctx, b)),
  ep("POST", "runs/log-metric", s.logMetricSchema, async (ctx, b) => { await logMetric(ctx, b.run_id, b); return EMPTY; }),
  ep("POST", "runs/log-parameter", s.logParamSchema, async (ctx, b) => { await logParam(ctx, b.run_id, b.key, b.value); return EMPTY; }),
  ep("POST", "runs/set-tag", s.setTagSchema, async (ctx, b) => { await setRunTag(ctx, b.run_id, b.key, b.value); return EMPTY; }),
  ep("POST", "runs/delete-tag", s.deleteTagSchema, async (ctx, b) => { await deleteRunTag(ctx, b.run_id, b.key); return EMPTY; }),
  ep("POST", "runs/log-batch", s.logBatchSchema, async (ctx, b) => { await logBatch(ctx, b); return EMPTY; }),
  ep("POST", "runs/log-inputs", s.logInputsSchema, async (ctx, b) => { await logInputs(ctx, b.run_id, b.datasets); return EMPTY; }),
  ep("POST", "runs/log-model", s.logModelSchema, async (ctx, b) => { await logModel(ctx, b.run_id, b.model_json); return EMPTY; }),
  ep("POST", "runs/outputs", s.logOutputsSchema, async (ctx, b) => { await logOutputs(ctx, b.run_id, b.models); return EMPTY; }),
  // metrics and artifacts
  ep("GET", "metrics/get-history", s.metricHistorySchema, (ctx, q) => getMetricHistory(ctx, q)),
  ep("GET", "metrics/get-history-sampled", s.sampledHistorySchema, (ctx, q) => getSampledHistory(ctx, q)),
  ep("GET", "artifacts/list", s.listArtifactsSchema, (ctx, q) => listRunArtifacts(ctx, q.run_id, q.path)),
  // MLflow 3 logged models
  ep("POST", "logged-models", loggedModelCreate, async (ctx, b) => ({ model: await createLoggedModel(ctx, b) })),
  ep("POST", "logged-models/search", loggedModelSearch, (ctx, b) => searchLoggedModels(ctx, b)),
  ep("GET", new RegExp(`^logged-models/${MODEL}$`), anyBody, async (ctx, _b, [id]) => ({ model: await getLoggedModel(ctx, id!) })),
  ep("PATCH", new RegExp(`^logged-models/${MODEL}$`), z.object({ status: z.string() }), async (ctx, b, [id]) => ({ model: await finalizeLoggedModel(ctx, id!, b.status) })),
  ep("DELETE", new RegExp(`^logged-models/${MODEL}$`), anyBody, async (ctx, _b, [id]) => { await deleteLoggedModel(ctx, id!); return EMPTY; }),
  ep("PATCH", new RegExp(`^logged-models/${MODEL}/tags$`), z.object({ tags: z.array(s.tagSchema).max(1000) }), async (ctx, b, [id]) => { await setLoggedModelTags(ctx, id!, b.tags); return EMPTY; }),
  ep("DELETE", new RegExp(`^logged-models/${MODEL}/tags/([^/]+)$`), anyBody, async (ctx, _b, [id, key]) => { await deleteLoggedModelTag(ctx, id!, decodeParam(key, "tag key")); return EMPTY; }),
];

const ALL = [...ENDPOINTS, ...REGISTRY_ENDPOINTS];

export function findEndpoint(method: string, path: string): { endpoint: Endpoint; params: string[] } | { allowed: string[] } | null {
  const matches = ALL.map((e) => ({ e, m: e.pattern.exec(path) })).filter((x) => x.m);
  if (matches.length === 0) return null;
  const hit = matches.find((x) => x.e.method === method);
  if (!hit) return { allowed: matches.map((x) => x.e.method) };
  return { endpoint: hit.e, params: hit.m!.slice(1) };
}
