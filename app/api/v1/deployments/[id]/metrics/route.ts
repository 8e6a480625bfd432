// GET /api/v1/deployments/{id}/metrics?window=1h — {window, step_seconds, source, notice, series: {requests_per_second,
// latency_p50_ms, latency_p95_ms, latency_p99_ms, error_rate}}, each a list of [unix_seconds, value]
import { deploymentMetricsQuery as query } from "@/lib/schemas/deployments";
import { deploymentMetrics } from "@/server/deployments/metrics";
import { env } from "@/server/env";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]/metrics", query }, async ({ ctx, params, query: q }) =>
  deploymentMetrics(ctx, { id: params.id ?? "", window: q.window, scrapeSeconds: env().prometheus.scrapeSeconds }));
