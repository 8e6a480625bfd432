// POST /api/v1/models/{name}/deploy — deploy a version (by number, alias, or the newest) to staging:
// 201 {deployment_id, endpoint, status}. Production deploys need the approval workflow (not built: 501).
import { deployModelSchema } from "@/lib/schemas/deployments";
import { deployModel } from "@/server/deployments/service";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/models/[name]/deploy", body: deployModelSchema, status: 201 }, async ({ ctx, params, body }) =>
  deployModel(ctx, decodeURIComponent(params.name ?? ""), body));
