// GET /api/v1/alerts — alerts of the caller's teams (or ?team=; ?state=active|pending|firing|resolved), firing first, and the latest state changes
import { alertsQuery } from "@/lib/schemas/alerts";
import { listAlerts } from "@/server/alerts/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/alerts", query: alertsQuery }, async ({ ctx, query }) => listAlerts(ctx, query));
