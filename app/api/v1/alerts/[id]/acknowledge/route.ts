// POST /api/v1/alerts/{id}/acknowledge — someone is on it: no more repeat notifications for this firing (409 unless firing)
import { acknowledgeAlert } from "@/server/alerts/service";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/alerts/[id]/acknowledge" }, async ({ ctx, params }) => acknowledgeAlert(ctx, params.id ?? ""));
