// GET /api/v1/experiments/{id}/charts/runs — every run of the filter (newest 10,000) with the chosen keys' values, one array per key
import { chartRunsQuery } from "@/lib/schemas/charts";
import { apiRoute } from "@/server/http/api-route";
import { chartRuns } from "@/server/tracking/charts";

export const GET = apiRoute({ endpoint: "/api/v1/experiments/[id]/charts/runs", query: chartRunsQuery }, async ({ ctx, params, query }) =>
  chartRuns(ctx, { experimentId: params.id ?? "", filter: query.filter, keys: query.keys }));
