// GET /api/v1/audit — audit events, newest first (admins: all teams; team leads: their teams)
import { auditQuerySchema } from "@/lib/schemas/audit";
import { listAudit } from "@/server/audit/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/audit", query: auditQuerySchema }, async ({ ctx, query }) => listAudit(ctx, query));
