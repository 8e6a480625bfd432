// GET /api/v1/models — registered models of the caller's teams: name, team, latest version, aliases
import { listModelsQuery } from "@/lib/schemas/registry";
import { apiRoute } from "@/server/http/api-route";
import { listModels } from "@/server/registry/lineage";

export const GET = apiRoute({ endpoint: "/api/v1/models", query: listModelsQuery }, async ({ ctx, query }) => listModels(ctx, query));
