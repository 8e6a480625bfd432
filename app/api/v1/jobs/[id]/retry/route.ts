// POST /api/v1/jobs/{id}/retry — run a finished job again with the same spec: 202 with the new job
import { apiRoute } from "@/server/http/api-route";
import { retryJob } from "@/server/jobs/service";

export const POST = apiRoute({ endpoint: "/api/v1/jobs/[id]/retry", status: 202 }, async ({ ctx, params }) => retryJob(ctx, params.id ?? ""));
