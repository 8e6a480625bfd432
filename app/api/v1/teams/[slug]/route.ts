// GET /api/v1/teams/{slug} — a team with its members and quota
import { apiRoute } from "@/server/http/api-route";
import { getTeam } from "@/server/teams/service";

export const GET = apiRoute({ endpoint: "/api/v1/teams/[slug]" }, async ({ ctx, params }) => getTeam(ctx, params.slug ?? ""));
