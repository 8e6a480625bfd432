// GET /api/v1/deployments/{id}/metrics?window=1h — {window, step_seconds, series: {requests_per_second,
// latency_p50_ms, latency_p95_ms, latency_p99_ms, error_rate}}, each a list of [unix_seconds, value]
import { z } from "zod";
import { deploymentMetrics } from "@/server/deployments/metrics";
import { env } from "@/server/env";
import { apiRoute } from "@/server/http/api-route";

const query = z.object({ window: z.string().max(10).optional().default("1h") });

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]/metrics", query }, async ({ ctx, params, query: q }) =>
  deploymentMetrics(ctx, params.id ?? "", q.window, env().prometheus.scrapeSeconds));
