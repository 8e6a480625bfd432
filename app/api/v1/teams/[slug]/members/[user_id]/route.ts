// PATCH /api/v1/teams/{slug}/members/{user_id} — change a role · DELETE — remove the member (effective on their next request)
import { changeRoleSchema } from "@/lib/schemas/teams";
import { apiRoute } from "@/server/http/api-route";
import { changeRole, removeMember } from "@/server/teams/admin";

export const PATCH = apiRoute({ endpoint: "/api/v1/teams/[slug]/members/[user_id]", body: changeRoleSchema }, async ({ ctx, params, body }) =>
  changeRole(ctx, params.slug ?? "", params.user_id ?? "", body.role));

export const DELETE = apiRoute({ endpoint: "/api/v1/teams/[slug]/members/[user_id]" }, async ({ ctx, params }) => {
  await removeMember(ctx, params.slug ?? "", params.user_id ?? "");
});
