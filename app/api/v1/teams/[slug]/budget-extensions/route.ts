// POST /api/v1/teams/{slug}/budget-extensions — a team lead (or admin) raises this month's approval line: 201 {id, team, month, amount_usd, reason, granted_by, created_at}
import { budgetExtensionSchema } from "@/lib/schemas/costs";
import { grantBudgetExtension } from "@/server/costs/budget-service";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/teams/[slug]/budget-extensions", body: budgetExtensionSchema, status: 201 }, async ({ ctx, params, body }) =>
  grantBudgetExtension(ctx, params.slug ?? "", body));
