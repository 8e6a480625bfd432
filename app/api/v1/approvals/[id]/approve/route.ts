// POST /api/v1/approvals/{id}/approve — a team lead (never the requester) approves: the production deployment starts
// and the protected production alias moves; a request that is no longer pending answers 409
import { decideApprovalSchema } from "@/lib/schemas/deployments";
import { approveRequest } from "@/server/approvals/service";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/approvals/[id]/approve", body: decideApprovalSchema }, async ({ ctx, params, body }) => approveRequest(ctx, params.id ?? "", body.comment));
