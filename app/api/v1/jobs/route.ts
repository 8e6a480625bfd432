// GET /api/v1/jobs — jobs of the caller's teams, newest first: {jobs, next_page_token}
import { listJobsQuery } from "@/lib/schemas/jobs";
import { apiRoute } from "@/server/http/api-route";
import { listJobs } from "@/server/jobs/service";

export const GET = apiRoute({ endpoint: "/api/v1/jobs", query: listJobsQuery }, async ({ ctx, query }) => listJobs(ctx, query));
