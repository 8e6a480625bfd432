// GET /api/v1/deployments — the deployments of the caller's teams, newest first (team, environment, status, model)
import { listDeploymentsQuery } from "@/lib/schemas/deployments";
import { listDeployments } from "@/server/deployments/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/deployments", query: listDeploymentsQuery }, async ({ ctx, query }) => listDeployments(ctx, query));
