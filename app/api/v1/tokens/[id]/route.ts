// DELETE /api/v1/tokens/{id} — revoke a token
import { apiRoute } from "@/server/http/api-route";
import { revokeToken } from "@/server/tokens/service";

export const DELETE = apiRoute({ endpoint: "/api/v1/tokens/[id]" }, async ({ ctx, params }) => {
  await revokeToken(ctx, params.id ?? "");
});
