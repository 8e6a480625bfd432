// GET /api/v1/deployments/{id}/split — the deployment's traffic split (active, else its latest) with both variants' figures · POST — start one:
// staging 201 {split}; production 202 {approval_request_id, status: "pending_approval"} (a team lead approves the split as asked)
import { startSplitSchema } from "@/lib/schemas/splits";
import { startSplit } from "@/server/approvals/split";
import { getSplit } from "@/server/deployments/split";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]/split" }, async ({ ctx, params }) => getSplit(ctx, params.id ?? ""));

export const POST = apiRoute({ endpoint: "/api/v1/deployments/[id]/split", body: startSplitSchema }, async ({ ctx, params, body }) => {
  const answer = await startSplit(ctx, params.id ?? "", body);
  return Response.json(answer, { status: "approval_request_id" in answer ? 202 : 201 });
});
