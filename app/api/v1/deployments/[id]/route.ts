// GET /api/v1/deployments/{id} — one deployment · PATCH — how it scales (auto_scale, replicas, min/max_replicas, target_concurrency) · DELETE — stop it (its replicas end; the record stays, status "stopped")
import { scaleDeploymentSchema } from "@/lib/schemas/deployments";
import { scaleDeployment } from "@/server/deployments/scaling";
import { getDeployment, stopDeployment } from "@/server/deployments/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]" }, async ({ ctx, params }) => getDeployment(ctx, params.id ?? ""));

export const PATCH = apiRoute({ endpoint: "/api/v1/deployments/[id]", body: scaleDeploymentSchema }, async ({ ctx, params, body }) => scaleDeployment(ctx, params.id ?? "", body));

export const DELETE = apiRoute({ endpoint: "/api/v1/deployments/[id]" }, async ({ ctx, params }) => {
  await stopDeployment(ctx, params.id ?? "");
});
