// GET /api/v1/deployments/{id} — one deployment · DELETE — stop it (its replicas end; the record stays, status "stopped")
import { getDeployment, stopDeployment } from "@/server/deployments/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]" }, async ({ ctx, params }) => getDeployment(ctx, params.id ?? ""));

export const DELETE = apiRoute({ endpoint: "/api/v1/deployments/[id]" }, async ({ ctx, params }) => {
  await stopDeployment(ctx, params.id ?? "");
});
