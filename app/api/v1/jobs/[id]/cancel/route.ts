// POST /api/v1/jobs/{id}/cancel — cancel a queued or running job (its own user, or a team lead)
import { apiRoute } from "@/server/http/api-route";
import { cancelJob } from "@/server/jobs/service";

export const POST = apiRoute({ endpoint: "/api/v1/jobs/[id]/cancel" }, async ({ ctx, params }) => cancelJob(ctx, params.id ?? ""));
