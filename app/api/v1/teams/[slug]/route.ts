// GET /api/v1/teams/{slug} — a team with its members and quota · PATCH — rename, archive or restore (admins)
import { updateTeamSchema } from "@/lib/schemas/teams";
import { apiRoute } from "@/server/http/api-route";
import { archiveTeam, renameTeam, restoreTeam } from "@/server/teams/admin";
import { getTeam } from "@/server/teams/service";

export const GET = apiRoute({ endpoint: "/api/v1/teams/[slug]" }, async ({ ctx, params }) => getTeam(ctx, params.slug ?? ""));

export const PATCH = apiRoute({ endpoint: "/api/v1/teams/[slug]", body: updateTeamSchema }, async ({ ctx, params, body }) => {
  const slug = params.slug ?? "";
  if (body.archived === false) await restoreTeam(ctx, slug);
  if (body.name !== undefined) await renameTeam(ctx, slug, body.name);
  if (body.archived === true) {
    await archiveTeam(ctx, slug);
    return { slug, archived: true };
  }
  return getTeam(ctx, slug);
});
