// POST /api/v1/runs/{id}/register — register the run's model folder as a new version of a model (created in the
// run's team when it does not exist yet)
import { registerRunBody } from "@/lib/schemas/registry";
import { apiRoute } from "@/server/http/api-route";
import { registerFromRun } from "@/server/registry/register";

export const POST = apiRoute({ endpoint: "/api/v1/runs/[id]/register", body: registerRunBody, status: 201 }, async ({ ctx, params, body }) => {
  const v = await registerFromRun(ctx, { runId: params.id ?? "", path: body.path, name: body.name, description: body.description });
  return {
    name: v.name, version: Number(v.version), team: v.team, source: v.source, run_id: v.run_id, status: v.status,
    format: v.format, content_digest: v.content_digest, description: v.description, created_at: new Date(v.creation_timestamp).toISOString(),
  };
});
