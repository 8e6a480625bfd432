// GET /api/v1/jobs/{id}/resources — the job's CPU and memory samples while it ran, with what it asked for
import { apiRoute } from "@/server/http/api-route";
import { getJobResources } from "@/server/jobs/usage";

export const GET = apiRoute({ endpoint: "/api/v1/jobs/[id]/resources" }, async ({ ctx, params }) => getJobResources(ctx, params.id ?? ""));
