// GET /api/v1/teams — teams the caller may see · POST — create a team (platform admins)
import { createTeamSchema } from "@/lib/schemas/teams";
import { apiRoute } from "@/server/http/api-route";
import { createTeam, listTeams } from "@/server/teams/service";

export const GET = apiRoute({ endpoint: "/api/v1/teams" }, async ({ ctx }) => ({ teams: await listTeams(ctx) }));

export const POST = apiRoute(
  { endpoint: "/api/v1/teams", body: createTeamSchema, status: 201 },
  async ({ ctx, body }) => createTeam(ctx, body),
);
