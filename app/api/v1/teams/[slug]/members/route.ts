// POST /api/v1/teams/{slug}/members — add a member by email with a role (team leads of the team, admins);
// an email without an account gets an invitation instead (202, with its one-time link)
import { addMemberSchema } from "@/lib/schemas/teams";
import { forwardedRequest } from "@/server/auth/request-info";
import { apiRoute } from "@/server/http/api-route";
import { addOrInviteMember } from "@/server/teams/invitations";

export const POST = apiRoute({ endpoint: "/api/v1/teams/[slug]/members", body: addMemberSchema, status: 201 }, async ({ ctx, req, params, body }) => {
  const result = await addOrInviteMember(ctx, params.slug ?? "", body);
  if (result.kind === "member") return result.member;
  const { host, proto } = forwardedRequest(req.headers);
  const origin = host ? `${proto ?? new URL(req.url).protocol.replace(":", "")}://${host}` : new URL(req.url).origin;
  return Response.json({ invitation: result.invitation, invite_url: `${origin}${result.invite_path}` }, { status: 202 });
});
