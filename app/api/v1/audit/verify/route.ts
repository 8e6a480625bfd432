// GET /api/v1/audit/verify — recompute the hash chain and name the first broken row
import { verifyAudit } from "@/server/audit/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/audit/verify" }, async ({ ctx }) => verifyAudit(ctx));
