// Any other /api/v1 path — a JSON 404 in the API's error shape (authenticated, so paths are not probed)
import { AppError } from "@/server/errors";
import { apiRoute } from "@/server/http/api-route";

const notFound = apiRoute({ endpoint: "/api/v1/[...path]" }, async ({ req }) => {
  throw new AppError("not_found", `No API route ${req.method} ${new URL(req.url).pathname}. See /api/v1/openapi.json.`);
});

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
