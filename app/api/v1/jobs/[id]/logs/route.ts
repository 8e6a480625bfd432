// GET /api/v1/jobs/{id}/logs — the job's output as text; follow=true streams it as text/event-stream
import { logsQuery } from "@/lib/schemas/jobs";
import { apiRoute } from "@/server/http/api-route";
import { jobLogStream, jobLogText } from "@/server/jobs/logs";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ endpoint: "/api/v1/jobs/[id]/logs", query: logsQuery }, async ({ ctx, params, query, req }) =>
  query.follow ? jobLogStream(ctx, params.id ?? "", req) : jobLogText(ctx, params.id ?? ""));
