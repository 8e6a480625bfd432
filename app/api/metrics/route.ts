// GET /api/metrics — Prometheus text exposition of platform_* metrics: with team, deployment and user
// labels for the scrape token (CAIRN_METRICS_TOKEN) or a platform admin, summed over them for anyone else
import { getReadyDb } from "@/server/bootstrap";
import { publicRoute } from "@/server/http/api-route";
import { aggregatedRegistry, metricsView } from "@/server/observability/exposition";
import { platformMetrics } from "@/server/observability/metrics";

export const dynamic = "force-dynamic";

export const GET = publicRoute("/api/metrics", async (req) => {
  const view = await metricsView(await getReadyDb(), req);
  const registry = view === "labelled" ? platformMetrics().registry : await aggregatedRegistry();
  return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType, "cache-control": "no-store" } });
});
