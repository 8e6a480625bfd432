// Dispatches /api/2.0/mlflow/<path> (and /ajax-api/…) to the endpoint table, in MLflow's error shape.
import { handleAuthenticated } from "../http/api-route";
import { findEndpoint } from "./endpoints";
import { mlflowError, mlflowErrorResponse, parseLenientJson, queryObject } from "./protocol";

const MAX_BODY_BYTES = 16 * 1024 * 1024;

export async function handleMlflow(req: Request, pathSegments: string[]): Promise<Response> {
  const path = pathSegments.join("/");
  const found = findEndpoint(req.method, path);
  // Metrics label: the path with ids folded, so the label set stays small.
  const endpoint = found ? `/api/2.0/mlflow/${path.replace(/m-[0-9a-f]{32}/g, "{model_id}").replace(/tags\/[^/]+$/, "tags/{key}")}` : "/api/2.0/mlflow/[unknown]";
  return handleAuthenticated(req, endpoint, mlflowErrorResponse, async (ctx) => {
    if (!found) return mlflowError("ENDPOINT_NOT_FOUND", `No MLflow endpoint ${req.method} /api/2.0/mlflow/${path}`, 404);
    if (!("endpoint" in found)) return mlflowError("ENDPOINT_NOT_FOUND", `${req.method} is not supported here; use ${found.allowed.join(" or ")}.`, 405);
    let input: unknown;
    if (req.method === "GET" || req.method === "DELETE") {
      const query = queryObject(new URL(req.url));
      const text = req.method === "DELETE" ? await req.text() : "";
      input = text.trim() ? { ...query, ...(parseLenientJson(text) as object) } : query;
    } else {
      const length = Number(req.headers.get("content-length") ?? 0);
      if (length > MAX_BODY_BYTES) return mlflowError("INVALID_PARAMETER_VALUE", `Request body is larger than ${MAX_BODY_BYTES} bytes.`, 400);
      const text = await req.text();
      input = text.trim() ? parseLenientJson(text) : {};
    }
    const result = await found.endpoint.handle(ctx, input, found.params);
    return Response.json(result);
  });
}
