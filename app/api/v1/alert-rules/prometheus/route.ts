// GET /api/v1/alert-rules/prometheus?team= — the team's serving rules as a Prometheus rule file (YAML), for `rule_files:`
import { alertRulesQuery } from "@/lib/schemas/alerts";
import { prometheusAlertRules } from "@/server/alerts/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/alert-rules/prometheus", query: alertRulesQuery }, async ({ ctx, query }) =>
  new Response(await prometheusAlertRules(ctx, query), { headers: { "content-type": "application/yaml; charset=utf-8" } }));
