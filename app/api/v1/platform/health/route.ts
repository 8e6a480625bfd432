// GET /api/v1/platform/health?window=1h — admins: the API's rate, latency and errors by endpoint, the job queue
// and its waits, active users, storage by team and type, GPUs by team; from Prometheus or Cairn's own rollups
import { platformHealthQuery as query } from "@/lib/schemas/platform";
import { env } from "@/server/env";
import { apiRoute } from "@/server/http/api-route";
import { platformHealth } from "@/server/platform/health";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ endpoint: "/api/v1/platform/health", query }, ({ ctx, query: q }) =>
  platformHealth(ctx, { window: q.window, scrapeSeconds: env().prometheus.scrapeSeconds }));
