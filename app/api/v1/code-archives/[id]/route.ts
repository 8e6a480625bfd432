// GET /api/v1/code-archives/{id} — one code archive (another team's answers 404)
// DELETE /api/v1/code-archives/{id} — delete it (its uploader, team leads, admins): 204; 409 while an unfinished job needs it
import { apiRoute } from "@/server/http/api-route";
import { deleteCodeArchive, getCodeArchive } from "@/server/jobs/code-archives";

export const GET = apiRoute({ endpoint: "/api/v1/code-archives/[id]" }, async ({ ctx, params }) => getCodeArchive(ctx, params.id ?? ""));

export const DELETE = apiRoute({ endpoint: "/api/v1/code-archives/[id]" }, async ({ ctx, params }) => {
  await deleteCodeArchive(ctx, params.id ?? "");
});
