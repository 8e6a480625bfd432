// POST /api/v1/sweeps/{id}/stop — stop a sweep: its running and waiting trials are cancelled (its user, or a team lead)
import { apiRoute } from "@/server/http/api-route";
import { controlSweep } from "@/server/sweeps/service";

export const POST = apiRoute({ endpoint: "/api/v1/sweeps/[id]/stop" }, async ({ ctx, params }) => controlSweep(ctx, params.id ?? "", "stop"));
