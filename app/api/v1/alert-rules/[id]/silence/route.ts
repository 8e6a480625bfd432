// POST /api/v1/alert-rules/{id}/silence — mute a rule's notifications until a time ({until: null} lifts it)
import { silenceAlertRuleSchema } from "@/lib/schemas/alerts";
import { silenceAlertRule } from "@/server/alerts/service";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/alert-rules/[id]/silence", body: silenceAlertRuleSchema }, async ({ ctx, params, body }) => silenceAlertRule(ctx, params.id ?? "", body));
