// GET /api/v1/tokens — the caller's tokens (no secrets) · POST — mint a token (signed-in session only)
import { createTokenSchema } from "@/lib/schemas/tokens";
import { apiRoute } from "@/server/http/api-route";
import { createToken, listTokens } from "@/server/tokens/service";

export const GET = apiRoute({ endpoint: "/api/v1/tokens" }, async ({ ctx }) => ({ tokens: await listTokens(ctx) }));

export const POST = apiRoute(
  { endpoint: "/api/v1/tokens", body: createTokenSchema, status: 201 },
  async ({ ctx, body }) => createToken(ctx, body),
);
