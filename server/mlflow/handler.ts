// Dispatches /api/2.0/mlflow/<path> (and /ajax-api/…) to the endpoint table, in MLflow's error shape.
import type { Db } from "@/db/client";
import { logBatchSchema } from "@/lib/schemas/mlflow";
import { credentialFromHeader } from "../auth/request-actor";
import { touchToken, tokenLookupHash } from "../auth/token-actor";
import type { RequestLike, Shortcut } from "../http/api-route";
import { handleAuthenticated, hasNul, refuseNul } from "../http/api-route";
import { logMetricsByToken } from "../tracking/logging";
import { touchUser } from "../users/activity";
import { findEndpoint } from "./endpoints";
import { jsonResponse } from "../http/raw-json";
import { mlflowError, mlflowErrorResponse, parseLenientJson, queryObject } from "./protocol";

export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Bodies read before the token is checked stay small (a 1000-metric batch is ≈ 80 KB). */
const SHORTCUT_MAX_BODY_BYTES = 256 * 1024;

/**
 * log-batch with metrics only and an API token — what training scripts send all the time — is checked
 * and written in one statement (tracking/metric-write.ts). Anything else, or any failed check, goes the
 * general way, which answers the error.
 */
function metricBatchShortcut(req: RequestLike, body: () => Promise<string>): Shortcut {
  return async (db: Db) => {
    const authorization = req.headers.get("authorization");
    const length = Number(req.headers.get("content-length") ?? Number.NaN);
    if (!authorization || !(length <= SHORTCUT_MAX_BODY_BYTES)) return null;
    // A malformed credential goes the general way (401) before the body is read or parsed.
    let hash: string | null;
    try {
      hash = tokenLookupHash(credentialFromHeader(authorization));
    } catch {
      return null;
    }
    if (!hash) return null;
    let parsed: ReturnType<typeof logBatchSchema.safeParse>;
    try {
      parsed = logBatchSchema.safeParse(parseLenientJson(await body()));
    } catch {
      return null;
    }
    if (!parsed.success || hasNul(parsed.data)) return null;
    const input = parsed.data;
    if (input.params.length > 0 || input.tags.length > 0 || input.metrics.length === 0) return null;
    const written = await logMetricsByToken(db, hash, input.run_id, input.metrics);
    if (!written) return null;
    await touchToken(db, written.tokenId, written.lastUsedAt);
    await touchUser(db, written.userId);
    return Response.json({});
  };
}

export async function handleMlflow(req: RequestLike, pathSegments: string[]): Promise<Response> {
  const path = pathSegments.join("/");
  const found = findEndpoint(req.method, path);
  // Metrics label: the path with ids folded, so the label set stays small.
  const endpoint = found ? `/api/2.0/mlflow/${path.replace(/m-[0-9a-f]{32}/g, "{model_id}").replace(/tags\/[^/]+$/, "tags/{key}")}` : "/api/2.0/mlflow/[unknown]";
  let text: Promise<string> | undefined;
  const body = () => (text ??= req.text());
  const shortcut = req.method === "POST" && path === "runs/log-batch" ? metricBatchShortcut(req, body) : undefined;
  return handleAuthenticated(req, endpoint, mlflowErrorResponse, async (ctx) => {
    if (!found) return mlflowError("ENDPOINT_NOT_FOUND", `No MLflow endpoint ${req.method} /api/2.0/mlflow/${path}`, 404);
    if (!("endpoint" in found)) return mlflowError("ENDPOINT_NOT_FOUND", `${req.method} is not supported here; use ${found.allowed.join(" or ")}.`, 405);
    let input: unknown;
    if (req.method === "GET" || req.method === "DELETE") {
      const query = queryObject(new URL(req.url));
      const raw = req.method === "DELETE" ? await body() : "";
      input = raw.trim() ? { ...query, ...(parseLenientJson(raw) as object) } : query;
    } else {
      const length = Number(req.headers.get("content-length") ?? 0);
      if (length > MAX_BODY_BYTES) return mlflowError("INVALID_PARAMETER_VALUE", `Request body is larger than ${MAX_BODY_BYTES} bytes.`, 400);
      const raw = await body();
      input = raw.trim() ? parseLenientJson(raw) : {};
    }
    refuseNul(input, "request");
    refuseNul(found.params, "path");
    const result = await found.endpoint.handle(ctx, input, found.params);
    return jsonResponse(result);
  }, shortcut);
}
