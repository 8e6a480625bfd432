// GET /api/v1/me — the caller, their teams and roles
import { apiRoute } from "@/server/http/api-route";
import { getMe } from "@/server/users/me";

export const GET = apiRoute({ endpoint: "/api/v1/me" }, async ({ ctx }) => getMe(ctx));
