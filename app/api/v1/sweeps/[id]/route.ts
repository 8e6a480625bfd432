// GET /api/v1/sweeps/{id} — a sweep with its trials (params, state, objective), counts, why trials wait, and the best trial
import { apiRoute } from "@/server/http/api-route";
import { getSweep } from "@/server/sweeps/service";

export const GET = apiRoute({ endpoint: "/api/v1/sweeps/[id]" }, async ({ ctx, params }) => getSweep(ctx, params.id ?? ""));
