// GET /api/v1/alert-rules — the alert rules of the caller's teams (or ?team=), each with its state
// POST /api/v1/alert-rules — store a rule (ML engineers and team leads): evaluated every pass of the alerts worker
import { alertRulesQuery, createAlertRuleSchema } from "@/lib/schemas/alerts";
import { createAlertRule, listAlertRules } from "@/server/alerts/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/alert-rules", query: alertRulesQuery }, async ({ ctx, query }) => listAlertRules(ctx, query));
export const POST = apiRoute({ endpoint: "/api/v1/alert-rules", body: createAlertRuleSchema, status: 201 }, async ({ ctx, body }) => createAlertRule(ctx, body));
