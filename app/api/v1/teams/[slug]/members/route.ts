// POST /api/v1/teams/{slug}/members — add a member by email with a role (team leads of the team, admins);
// an email without an account gets an invitation instead (202, with its one-time link)
import { addMemberSchema } from "@/lib/schemas/teams";
import { originOf } from "@/server/auth/site-origin";
import { apiRoute } from "@/server/http/api-route";
import { addOrInviteMember } from "@/server/teams/invitations";

export const POST = apiRoute({ endpoint: "/api/v1/teams/[slug]/members", body: addMemberSchema, status: 201 }, async ({ ctx, req, params, body }) => {
  const result = await addOrInviteMember(ctx, params.slug ?? "", body);
  if (result.kind === "member") return result.member;
  // NEXTAUTH_URL, else the request's host as checked by originOf (a trusted proxy's X-Forwarded-* only).
  return Response.json({ invitation: result.invitation, invite_url: `${originOf(req.headers)}${result.invite_path}` }, { status: 202 });
});
