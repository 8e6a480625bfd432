// GET /api/v1/alert-rules/{id} — one rule with its state and last value
// DELETE /api/v1/alert-rules/{id} — remove a rule with its alerts and history (ML engineers and team leads)
import { deleteAlertRule, getAlertRule } from "@/server/alerts/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/alert-rules/[id]" }, async ({ ctx, params }) => getAlertRule(ctx, params.id ?? ""));
export const DELETE = apiRoute({ endpoint: "/api/v1/alert-rules/[id]" }, async ({ ctx, params }) => deleteAlertRule(ctx, params.id ?? ""));
