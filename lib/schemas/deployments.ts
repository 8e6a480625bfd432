// Deploy requests (POST /api/v1/models/{name}/deploy, the deploy form) and deployment queries.
import { z } from "zod";

/** Autoscale bounds as a deploy resolves them: given, else 1–10 around `replicas`; without autoscaling, exactly `replicas`. */
export function replicaBounds(d: { replicas: number; auto_scale: boolean; min_replicas?: number; max_replicas?: number }): { min: number; max: number } {
  if (!d.auto_scale) return { min: d.replicas, max: d.replicas };
  return { min: d.min_replicas ?? Math.min(1, d.replicas), max: d.max_replicas ?? Math.max(10, d.replicas) };
}

/** Requests in flight per replica that autoscaling aims at, unless the deploy says otherwise. */
export const DEFAULT_TARGET_CONCURRENCY = 4;
const targetConcurrency = z
  .number({ error: "target_concurrency must be a whole number of requests in flight per replica, such as 4" })
  .int("target_concurrency must be a whole number of requests in flight per replica, such as 4")
  .min(1, "target_concurrency is at least 1 request in flight per replica")
  .max(1000, "target_concurrency is at most 1000 requests in flight per replica");

export const deployModelSchema = z
  .strictObject({
    team: z.string().max(64).optional(),
    version: z.union([z.number().int().positive(), z.string().regex(/^\d{1,9}$/, "version must be a version number such as 3")]).optional(),
    alias: z.string().min(1).max(255).optional(),
    environment: z.enum(["staging", "production"], { error: "environment must be staging or production" }),
    replicas: z.number().int().min(1, "replicas is at least 1").max(20, "replicas is at most 20").optional().default(3),
    auto_scale: z.boolean().optional().default(true),
    min_replicas: z.number().int().min(0, "min_replicas is at least 0").max(20).optional(),
    max_replicas: z.number().int().min(1, "max_replicas is at least 1").max(20, "max_replicas is at most 20").optional(),
    traffic: z.number().int().min(0, "traffic is a percentage from 0 to 100").max(100, "traffic is a percentage from 0 to 100").optional().default(100),
    target_concurrency: targetConcurrency.optional().default(DEFAULT_TARGET_CONCURRENCY),
    /** Production only: a note for the team lead who decides the request. */
    note: z.string().max(4000, "note is at most 4000 characters").optional(),
  })
  .superRefine((d, c) => {
    if (d.note !== undefined && d.environment !== "production") c.addIssue({ code: "custom", path: ["note"], message: "a note goes with a production request (staging deploys start at once)" });
    if (d.version !== undefined && d.alias !== undefined) c.addIssue({ code: "custom", path: ["alias"], message: "give either version or alias, not both" });
    if (!d.auto_scale && (d.min_replicas !== undefined || d.max_replicas !== undefined)) c.addIssue({ code: "custom", path: ["auto_scale"], message: "min_replicas and max_replicas bound autoscaling; with auto_scale false the deployment keeps `replicas`" });
    const { min, max } = replicaBounds({ ...d, auto_scale: true });
    if (d.auto_scale && min > max) c.addIssue({ code: "custom", path: ["min_replicas"], message: `min_replicas (${min}) is more than max_replicas (${max})` });
    if (d.auto_scale && (d.replicas < min || d.replicas > max)) c.addIssue({ code: "custom", path: ["replicas"], message: `replicas (${d.replicas}) must lie between min_replicas (${min}) and max_replicas (${max})` });
  });
/** What a deploy service takes: the schema's output, with target_concurrency optional for callers that build it in code. */
export type DeployModelInput = Omit<z.infer<typeof deployModelSchema>, "target_concurrency"> & { target_concurrency?: number };

/**
 * PATCH /api/v1/deployments/{id}: change how a running deployment scales. Bounds not given keep their
 * value; with auto_scale false the deployment keeps `replicas` (given, or the count it runs now).
 */
export const scaleDeploymentSchema = z
  .strictObject({
    auto_scale: z.boolean().optional(),
    replicas: z.number().int().min(1, "replicas is at least 1").max(20, "replicas is at most 20").optional(),
    min_replicas: z.number().int().min(1, "min_replicas is at least 1 (scaling to zero is not built)").max(20, "min_replicas is at most 20").optional(),
    max_replicas: z.number().int().min(1, "max_replicas is at least 1").max(20, "max_replicas is at most 20").optional(),
    target_concurrency: targetConcurrency.optional(),
  })
  .refine((d) => Object.values(d).some((v) => v !== undefined), { message: "give at least one of auto_scale, replicas, min_replicas, max_replicas, target_concurrency" });
export type ScaleDeploymentInput = z.infer<typeof scaleDeploymentSchema>;

export const listDeploymentsQuery = z.object({
  team: z.string().max(64).optional(),
  environment: z.enum(["staging", "production"]).optional(),
  status: z.enum(["deploying", "ready", "failed", "scaled_to_zero", "stopped"]).optional(),
  model: z.string().max(255).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().default(100),
});
export type ListDeploymentsQuery = z.infer<typeof listDeploymentsQuery>;

export const deploymentIdAction = z.strictObject({ id: z.string().uuid() });

/** The deploy form on a version page: staging only (production goes through approvals). */
export const deployVersionAction = z.strictObject({
  team: z.string().max(64),
  name: z.string().min(1).max(255),
  version: z.number().int().positive(),
  replicas: z.number({ error: "replicas must be a whole number" }).int("replicas must be a whole number").min(1, "replicas is at least 1").max(20, "replicas is at most 20"),
});

/** The try-it panel: a request body for one of the model server's two POST endpoints. */
export const tryDeploymentAction = z.strictObject({
  id: z.string().uuid(),
  endpoint: z.enum(["infer", "invocations"]),
  body: z.string().max(1_000_000, "the request body is over 1 MB; the try-it panel is for a few rows"),
});

export const approvalsQuery = z.object({
  team: z.string().max(64).optional(),
  status: z.enum(["pending", "approved", "rejected", "expired", "cancelled"]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().default(100),
});
export type ApprovalsQuery = z.infer<typeof approvalsQuery>;

export const decideApprovalSchema = z.strictObject({
  comment: z.string().trim().max(4000, "comment is at most 4000 characters").optional().default(""),
});

export const decideApprovalAction = z.strictObject({
  id: z.string().uuid(),
  decision: z.enum(["approve", "reject"]),
  comment: z.string().trim().max(4000, "comment is at most 4000 characters"),
});

/** The version page's production request: a team lead decides it. */
export const requestProductionAction = z.strictObject({
  team: z.string().max(64),
  name: z.string().min(1).max(255),
  version: z.number().int().positive(),
  replicas: z.number({ error: "replicas must be a whole number" }).int("replicas must be a whole number").min(1, "replicas is at least 1").max(20, "replicas is at most 20"),
  note: z.string().trim().max(4000, "note is at most 4000 characters"),
});

/** A point of a metrics series: [unix seconds, value], the value null where nothing was measured. */
export const metricsPointSchema = z.tuple([z.number(), z.number().nullable()]);
export type MetricsPoint = z.infer<typeof metricsPointSchema>;
export const seriesSchema = z.object({
  requests_per_second: z.array(metricsPointSchema),
  latency_p50_ms: z.array(metricsPointSchema),
  latency_p95_ms: z.array(metricsPointSchema),
  latency_p99_ms: z.array(metricsPointSchema),
  error_rate: z.array(metricsPointSchema).describe("Share of answers with a 5xx status, 0–1; null where there were no answers"),
});
export type MetricsSeries = z.infer<typeof seriesSchema>;

/** GET /api/v1/deployments/{id}/metrics?window= */
export const deploymentMetricsQuery = z.object({ window: z.string().max(10).optional().default("1h").describe("5m–30d, e.g. 15m, 1h, 7d") });

/** GET /api/v1/deployments/{id}/metrics */
export const deploymentMetricsSchema = z.object({
  window: z.string(),
  step_seconds: z.number().int(),
  source: z.enum(["prometheus", "cairn"]).describe("prometheus: Prometheus (PROMETHEUS_URL or the managed one); cairn: Cairn's own per-minute rollups of the gateway's counters (kept 30 days)"),
  notice: z.string().nullable().describe("Why Cairn's rollups answered although a Prometheus is configured (it did not answer), else null"),
  series: seriesSchema,
});
export type DeploymentMetrics = z.infer<typeof deploymentMetricsSchema>;

/** GET /api/v1/deployments/{id}/resources: CPU and memory of the deployment's replicas together, against what they request. */
export const deploymentResourcesSchema = z.object({
  samples: z.array(z.object({
    at: z.string().describe("ISO 8601"), cpu_cores: z.number(), memory_bytes: z.number(),
    replicas: z.number().int().nullable().describe("Replica processes read (null: the pods were summed by the metrics source)"),
  })),
  limits: z.object({ cpu: z.number().describe("CPU cores the replicas request now: replicas × the replica instance type (what the cost meter charges)"), memory_bytes: z.number() }),
  source: z.enum(["process", "pod-metrics", "prometheus", "unavailable"]).describe("process: the replica processes from /proc (local); pod-metrics: metrics.k8s.io; prometheus: cAdvisor's container series in Prometheus; unavailable: see message"),
  message: z.string().nullable().describe("Why there are no samples, when there cannot be"),
  total_samples: z.number().int().describe("Samples stored; the answer holds at most 1,000 (pairs merged: mean CPU, peak memory)"),
});
export type DeploymentResources = z.infer<typeof deploymentResourcesSchema>;
