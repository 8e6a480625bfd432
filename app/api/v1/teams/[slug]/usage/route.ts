// GET /api/v1/teams/{slug}/usage — {quota, used, top, queued_jobs}: used vs. limit, who uses what, the queue
import { apiRoute } from "@/server/http/api-route";
import { teamUsage } from "@/server/teams/admin";

export const GET = apiRoute({ endpoint: "/api/v1/teams/[slug]/usage" }, async ({ ctx, params }) => teamUsage(ctx, params.slug ?? ""));
