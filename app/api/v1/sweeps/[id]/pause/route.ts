// POST /api/v1/sweeps/{id}/pause — pause a sweep: no new trials (running ones go on) (its user, or a team lead)
import { apiRoute } from "@/server/http/api-route";
import { controlSweep } from "@/server/sweeps/service";

export const POST = apiRoute({ endpoint: "/api/v1/sweeps/[id]/pause" }, async ({ ctx, params }) => controlSweep(ctx, params.id ?? "", "pause"));
