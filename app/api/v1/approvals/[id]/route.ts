// GET /api/v1/approvals/{id} — a request with its evidence (candidate vs. current production metrics, source run, note, monthly cost change)
import { getApproval } from "@/server/approvals/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/approvals/[id]" }, async ({ ctx, params }) => getApproval(ctx, params.id ?? ""));
