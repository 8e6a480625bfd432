// POST /api/v1/models/{name}/deploy — deploy a version (by number, alias, or the newest). Staging: 201
// {deployment_id, endpoint, status}. Production: 202 {approval_request_id, status: "pending_approval"} —
// a team lead decides the request; the deploy waits for it.
import { deployModelSchema } from "@/lib/schemas/deployments";
import { deployModel } from "@/server/approvals/deploy";
import { apiRoute, decodeParam } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/models/[name]/deploy", body: deployModelSchema }, async ({ ctx, params, body }) => {
  const answer = await deployModel(ctx, decodeParam(params.name, "model name"), body);
  return Response.json(answer, { status: "approval_request_id" in answer ? 202 : 201 });
});
