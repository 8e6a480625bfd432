// GET /api/v1/experiments/{id}/charts/history — one metric's history for every run of the filter, downsampled per run
import { chartHistoryQuery } from "@/lib/schemas/charts";
import { apiRoute } from "@/server/http/api-route";
import { chartHistories } from "@/server/tracking/charts";

export const GET = apiRoute({ endpoint: "/api/v1/experiments/[id]/charts/history", query: chartHistoryQuery }, async ({ ctx, params, query }) =>
  chartHistories(ctx, { experimentId: params.id ?? "", filter: query.filter, metric: query.metric, maxPoints: query.max_points }));
