// POST /api/v1/sweeps/{id}/resume — resume a paused sweep (its user, or a team lead)
import { apiRoute } from "@/server/http/api-route";
import { controlSweep } from "@/server/sweeps/service";

export const POST = apiRoute({ endpoint: "/api/v1/sweeps/[id]/resume" }, async ({ ctx, params }) => controlSweep(ctx, params.id ?? "", "resume"));
