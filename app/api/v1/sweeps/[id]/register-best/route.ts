// POST /api/v1/sweeps/{id}/register-best — register the best trial's model as a new version of {name}: 201 {trial, version}
import { registerBestSchema } from "@/lib/schemas/sweeps";
import { apiRoute } from "@/server/http/api-route";
import { registerBestTrial } from "@/server/sweeps/service";

export const POST = apiRoute({ endpoint: "/api/v1/sweeps/[id]/register-best", body: registerBestSchema, status: 201 }, async ({ ctx, params, body }) =>
  registerBestTrial(ctx, params.id ?? "", body));
