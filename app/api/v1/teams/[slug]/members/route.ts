// POST /api/v1/teams/{slug}/members — add a member by email with a role (team leads of the team, admins)
import { addMemberSchema } from "@/lib/schemas/teams";
import { apiRoute } from "@/server/http/api-route";
import { addMember } from "@/server/teams/admin";

export const POST = apiRoute({ endpoint: "/api/v1/teams/[slug]/members", body: addMemberSchema, status: 201 }, async ({ ctx, params, body }) => addMember(ctx, params.slug ?? "", body));
