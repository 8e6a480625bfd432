// GET /api/v1/experiments/{id} — an experiment with run_count and last_activity_at
import { apiRoute } from "@/server/http/api-route";
import { getExperiment } from "@/server/tracking/experiments";

export const GET = apiRoute({ endpoint: "/api/v1/experiments/[id]" }, async ({ ctx, params }) => getExperiment(ctx, params.id ?? ""));
