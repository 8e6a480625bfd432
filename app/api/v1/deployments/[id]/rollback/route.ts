// POST /api/v1/deployments/{id}/rollback — serve the version the model ran before in this environment again
// (a new deployment; the current one stops once it serves; in production the protected alias moves back)
import { rollbackDeployment } from "@/server/deployments/rollback";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/deployments/[id]/rollback" }, async ({ ctx, params }) => rollbackDeployment(ctx, params.id ?? ""));
