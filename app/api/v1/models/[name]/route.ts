// GET /api/v1/models/{name} — a model with its versions (format, aliases, source run) and alias history
import { modelTeamQuery } from "@/lib/schemas/registry";
import { apiRoute, decodeParam } from "@/server/http/api-route";
import { getModelDetail } from "@/server/registry/lineage";

export const GET = apiRoute({ endpoint: "/api/v1/models/[name]", query: modelTeamQuery }, async ({ ctx, params, query }) =>
  getModelDetail(ctx, decodeParam(params.name, "model name"), query));
