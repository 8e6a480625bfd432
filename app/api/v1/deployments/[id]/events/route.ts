// GET /api/v1/deployments/{id}/events — what happened to a deployment, newest first
import { getDeploymentEvents } from "@/server/deployments/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]/events" }, async ({ ctx, params }) => ({ events: await getDeploymentEvents(ctx, params.id ?? "") }));
