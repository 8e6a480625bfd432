// POST /api/v1/deployments/{id}/feedback — true labels for requests a split served ({request_id, label} or {feedback: [...]}, request ids from X-Request-Id)
import { feedbackSchema } from "@/lib/schemas/splits";
import { recordFeedback } from "@/server/deployments/split-feedback";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/deployments/[id]/feedback", body: feedbackSchema }, async ({ ctx, params, body }) => recordFeedback(ctx, params.id ?? "", body));
