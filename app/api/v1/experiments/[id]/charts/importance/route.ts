// GET /api/v1/experiments/{id}/charts/importance — random-forest importance of the params for an objective metric
import { chartImportanceQuery } from "@/lib/schemas/charts";
import { apiRoute } from "@/server/http/api-route";
import { parameterImportance } from "@/server/tracking/importance";

export const GET = apiRoute({ endpoint: "/api/v1/experiments/[id]/charts/importance", query: chartImportanceQuery }, async ({ ctx, params, query }) =>
  parameterImportance(ctx, { experimentId: params.id ?? "", filter: query.filter, objective: query.objective, params: query.params }));
