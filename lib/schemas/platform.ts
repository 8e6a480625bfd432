// The platform's own health for admins (GET /api/v1/platform/health, the Platform page).
import { z } from "zod";
import { metricsPointSchema, seriesSchema } from "./deployments";

/** GET /api/v1/platform/health?window= */
export const platformHealthQuery = z.object({ window: z.string().max(10).optional().default("1h").describe("5m–30d, e.g. 15m, 1h, 7d") });

const endpointRowSchema = z.object({
  endpoint: z.string().describe("The route pattern, e.g. /api/v1/jobs/[id] (never a raw id)"),
  method: z.string().describe("HTTP method; \"*\" where the source does not split by method (Prometheus latency)"),
  requests: z.number().int(),
  requests_per_second: z.number(),
  errors: z.number().int().describe("Answers with a 5xx status"),
  error_rate: z.number().nullable(),
  client_errors: z.number().int().describe("Answers with a 4xx status"),
  latency_p50_ms: z.number().nullable(),
  latency_p95_ms: z.number().nullable(),
  latency_p99_ms: z.number().nullable(),
});
export type EndpointRow = z.infer<typeof endpointRowSchema>;

export const platformHealthSchema = z.object({
  window: z.string(),
  step_seconds: z.number().int(),
  source: z.enum(["prometheus", "cairn"]).describe("prometheus: Prometheus (PROMETHEUS_URL or the managed one); cairn: Cairn's own per-minute rollups (kept 30 days)"),
  notice: z.string().nullable().describe("Why Cairn's rollups answered although a Prometheus is configured (it did not answer), else null"),
  api: z.object({
    requests: z.number().int().describe("API requests in the window"),
    errors: z.number().int(),
    error_rate: z.number().nullable(),
    latency_p50_ms: z.number().nullable(),
    latency_p95_ms: z.number().nullable(),
    latency_p99_ms: z.number().nullable(),
    series: seriesSchema,
    endpoints: z.array(endpointRowSchema).describe("The busiest endpoints in the window (at most 25), by requests"),
  }),
  queue: z.object({
    depth: z.number().int().describe("Jobs queued or admitted now"),
    oldest_wait_seconds: z.number().describe("How long the longest-waiting of them has waited (0 with none)"),
    running: z.number().int(),
    started: z.number().int().describe("Jobs that started in the window"),
    wait_mean_seconds: z.number().nullable().describe("Their mean wait from submit to start; null with none"),
    wait_max_seconds: z.number().nullable(),
    series: z.object({
      depth: z.array(metricsPointSchema),
      oldest_wait_seconds: z.array(metricsPointSchema),
      wait_mean_seconds: z.array(metricsPointSchema).describe("Mean wait of the jobs that started in each step; null where none started"),
    }),
  }),
  active_users: z.object({
    last_15m: z.number().int().describe("Distinct users with an API request or page view in the last 15 minutes"),
    last_hour: z.number().int(),
    series: z.array(metricsPointSchema),
  }),
  storage: z.array(z.object({ team: z.string(), type: z.enum(["artifacts", "code_archives", "pinned_versions"]), bytes: z.number() })),
  gpus: z.object({
    capacity: z.number().int().describe("GPUs on this host (local backend; 0 where there are none)"),
    teams: z.array(z.object({ team: z.string(), allocated: z.number(), utilization: z.number().nullable().describe("allocated ÷ capacity (0–1); null without GPUs") })),
    nodes: z.array(z.object({
      team: z.string(),
      node: z.string(),
      utilization: z.number().describe("Share of the node's GPUs the team uses now (0–1), as platform_gpu_utilization exports it"),
      source: z.enum(["measured", "allocated"]).describe("measured: the NVIDIA DCGM exporter's GPU utilization via PROMETHEUS_URL (Kubernetes); allocated: GPUs the team's running jobs hold ÷ the node's GPUs"),
    })).describe("GPU use by team and node now; a node without GPUs has no rows"),
  }),
});
export type PlatformHealth = z.infer<typeof platformHealthSchema>;
