// PUT /api/v1/teams/{slug}/quota — set a team's quota (platform admins)
import { quotaSchema } from "@/lib/schemas/teams";
import { apiRoute } from "@/server/http/api-route";
import { setQuota } from "@/server/teams/admin";

export const PUT = apiRoute({ endpoint: "/api/v1/teams/[slug]/quota", body: quotaSchema }, async ({ ctx, params, body }) => setQuota(ctx, params.slug ?? "", body));
