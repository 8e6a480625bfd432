// GET /api/metrics — Prometheus text exposition of platform_* metrics
import { publicRoute } from "@/server/http/api-route";
import { platformMetrics } from "@/server/observability/metrics";

export const dynamic = "force-dynamic";

export const GET = publicRoute("/api/metrics", async () => {
  const { registry } = platformMetrics();
  return new Response(await registry.metrics(), { headers: { "content-type": registry.contentType } });
});
