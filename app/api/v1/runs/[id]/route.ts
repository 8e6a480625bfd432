// GET /api/v1/runs/{id} — a run with params, latest metrics, tags and its artifacts root
import { apiRoute } from "@/server/http/api-route";
import { getRun } from "@/server/tracking/runs";

export const GET = apiRoute({ endpoint: "/api/v1/runs/[id]" }, async ({ ctx, params }) => {
  const run = await getRun(ctx, params.id ?? "");
  return { ...run, artifacts_root: run.info.artifact_uri };
});
