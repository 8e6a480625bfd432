// GET /api/v1/experiments/{id}/runs — a page of runs as flat rows, with the filter grammar and sort
import { browseRunsQuery } from "@/lib/schemas/experiments";
import { apiRoute } from "@/server/http/api-route";
import { browseRuns } from "@/server/tracking/browse";

export const GET = apiRoute({ endpoint: "/api/v1/experiments/[id]/runs", query: browseRunsQuery }, async ({ ctx, params, query }) =>
  browseRuns(ctx, {
    experimentId: params.id ?? "",
    filter: query.filter,
    orderBy: query.order_by ? [query.order_by] : [],
    pageSize: query.page_size,
    pageToken: query.page_token,
    view: query.view,
  }),
);
