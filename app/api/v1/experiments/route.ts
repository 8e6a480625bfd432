// GET /api/v1/experiments — experiments of the caller's teams · POST — create an experiment
import { createExperimentBody, listExperimentsQuery } from "@/lib/schemas/experiments";
import { apiRoute } from "@/server/http/api-route";
import { createExperiment, searchExperiments } from "@/server/tracking/experiments";

export const GET = apiRoute({ endpoint: "/api/v1/experiments", query: listExperimentsQuery }, async ({ ctx, query }) => {
  const { experiments, next_page_token } = await searchExperiments(ctx, {
    max_results: query.max_results, page_token: query.page_token, view_type: query.view, team: query.team, q: query.q,
  });
  return { experiments, next_page_token: next_page_token ?? null };
});

export const POST = apiRoute(
  { endpoint: "/api/v1/experiments", body: createExperimentBody, status: 201 },
  async ({ ctx, body }) => createExperiment(ctx, body),
);
