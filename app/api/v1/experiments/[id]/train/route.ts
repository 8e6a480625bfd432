// POST /api/v1/experiments/{id}/train — launch a training job: 202 {job_id, run_id, experiment_id, status, queue_reason?}
import { trainJobSchema } from "@/lib/schemas/jobs";
import { apiRoute } from "@/server/http/api-route";
import { submitJob } from "@/server/jobs/service";

export const POST = apiRoute({ endpoint: "/api/v1/experiments/[id]/train", body: trainJobSchema, status: 202 }, async ({ ctx, params, body }) =>
  submitJob(ctx, params.id ?? "", body));
