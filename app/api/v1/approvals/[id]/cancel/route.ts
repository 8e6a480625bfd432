// POST /api/v1/approvals/{id}/cancel — the requester withdraws a pending request
import { cancelRequest } from "@/server/approvals/service";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/approvals/[id]/cancel" }, async ({ ctx, params }) => cancelRequest(ctx, params.id ?? ""));
