// GET /api/v1/costs — {window, currency, totals: [{key, amount}], series: [{key, points: [[unix_seconds, amount]]}], budgets}
// grouped by team, user, resource, kind, run or deployment; members see their own teams' costs, admins all
import { costsQuery } from "@/lib/schemas/costs";
import { getCosts } from "@/server/costs/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/costs", query: costsQuery }, async ({ ctx, query }) => getCosts(ctx, query));
