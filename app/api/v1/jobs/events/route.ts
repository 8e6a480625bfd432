// GET /api/v1/jobs/events — job status changes as text/event-stream (`team`, `job` narrow it)
import { jobEventsQuery } from "@/lib/schemas/jobs";
import { apiRoute } from "@/server/http/api-route";
import { jobChangeStream } from "@/server/jobs/stream";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ endpoint: "/api/v1/jobs/events", query: jobEventsQuery }, async ({ ctx, req, query }) => jobChangeStream(ctx, req, query));
