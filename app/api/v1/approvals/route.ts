// GET /api/v1/approvals — production deploy requests of the caller's teams, newest first (status=pending for the inbox)
import { approvalsQuery } from "@/lib/schemas/deployments";
import { listApprovals } from "@/server/approvals/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/approvals", query: approvalsQuery }, async ({ ctx, query }) => listApprovals(ctx, query));
