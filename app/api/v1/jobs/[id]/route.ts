// GET /api/v1/jobs/{id} — a job with its status, resources, times, exit code, queue reason and cost so far
import { apiRoute } from "@/server/http/api-route";
import { getJob, getJobEvents } from "@/server/jobs/service";

export const GET = apiRoute({ endpoint: "/api/v1/jobs/[id]" }, async ({ ctx, params }) => ({
  ...(await getJob(ctx, params.id ?? "")),
  events: await getJobEvents(ctx, params.id ?? ""),
}));
