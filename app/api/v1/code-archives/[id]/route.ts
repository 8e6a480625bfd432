// GET /api/v1/code-archives/{id} — one code archive (another team's answers 404)
import { apiRoute } from "@/server/http/api-route";
import { getCodeArchive } from "@/server/jobs/code-archives";

export const GET = apiRoute({ endpoint: "/api/v1/code-archives/[id]" }, async ({ ctx, params }) => getCodeArchive(ctx, params.id ?? ""));
