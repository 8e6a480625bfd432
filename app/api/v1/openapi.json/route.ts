// GET /api/v1/openapi.json — the API's OpenAPI document (public)
import { env } from "@/server/env";
import { publicRoute } from "@/server/http/api-route";
import { openApiDocument } from "@/server/http/openapi";

export const GET = publicRoute("/api/v1/openapi.json", async () => Response.json(openApiDocument(env().version)));
