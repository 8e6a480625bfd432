// POST /api/v1/approvals/{id}/reject — a team lead rejects the request (with a comment); 409 when no longer pending
import { decideApprovalSchema } from "@/lib/schemas/deployments";
import { rejectRequest } from "@/server/approvals/service";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/approvals/[id]/reject", body: decideApprovalSchema }, async ({ ctx, params, body }) => rejectRequest(ctx, params.id ?? "", body.comment));
