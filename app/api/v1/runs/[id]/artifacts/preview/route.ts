// GET /api/v1/runs/{id}/artifacts/preview?path= — a size-capped preview for the artifact browser
import { previewQuery } from "@/lib/schemas/experiments";
import { apiRoute } from "@/server/http/api-route";
import { previewRunArtifact } from "@/server/tracking/preview";

export const GET = apiRoute({ endpoint: "/api/v1/runs/[id]/artifacts/preview", query: previewQuery }, async ({ ctx, params, query }) =>
  previewRunArtifact(ctx, params.id ?? "", query.path),
);
