// GET /api/v1/deployments/{id}/resources — the CPU and memory its replicas used, sampled while they served, against what they request
import { apiRoute } from "@/server/http/api-route";
import { getDeploymentResources } from "@/server/deployments/usage";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]/resources" }, async ({ ctx, params }) => getDeploymentResources(ctx, params.id ?? ""));
