// The inference gateway: /serve/<team>/<deployment>/… → one of the deployment's replicas. A token of
// that team is required (a signed-in browser uses the try-it panel instead). Only the model server's
// own surface passes: Open Inference Protocol v2 (metadata, readiness, infer) for the deployment's
// model and MLflow's /invocations. Errors answer `{"error": "<what and how to fix it>"}`, as the model
// server does, so a client sees one shape whoever refused it.
import { eq } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { Db } from "@/db/client";
import { deployments, teams } from "@/db/schema";
import { recordAudit } from "../audit/record";
import { can } from "../auth/policy";
import { requestInfo } from "../http/api-route";
import { credentialFromHeader } from "../auth/request-actor";
import { resolveTokenActor } from "../auth/token-actor";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { observeInference } from "../observability/metrics";
import { deploymentRuntime } from "./runtime";
import { loadDeployment } from "./service";

/** Request bodies the gateway forwards (the model server refuses larger ones too). */
export const MAX_INFERENCE_BODY_BYTES = 8 * 1024 * 1024;
const REPLICA_TIMEOUT_MS = 30_000;

const fail = (status: number, error: string, headers: Record<string, string> = {}) => Response.json({ error }, { status, headers });

type Route = { method: "GET" | "POST"; path: string };

/** The replica path for a gateway path, or an error response. `model` is the deployment's model name. */
export function replicaRoute(method: string, segments: string[], model: string): Route | Response {
  const joined = segments.join("/");
  if (joined === "invocations") return method === "POST" ? { method, path: "/invocations" } : fail(405, "Use POST for /invocations.", { allow: "POST" });
  if (joined === "v2/health/ready" || joined === "v2/health/live") return method === "GET" ? { method, path: `/${joined}` } : fail(405, `Use GET for /${joined}.`, { allow: "GET" });
  if (segments[0] === "v2" && segments[1] === "models" && segments[2] !== undefined) {
    if (segments[2] !== model) return fail(404, `This deployment serves model "${model}", not "${segments[2]}": use /v2/models/${encodeURIComponent(model)}/….`);
    const rest = segments.slice(3).join("/");
    const base = `/v2/models/${encodeURIComponent(model)}`;
    if (rest === "") return method === "GET" ? { method, path: base } : fail(405, "Use GET for model metadata.", { allow: "GET" });
    if (rest === "ready") return method === "GET" ? { method, path: `${base}/ready` } : fail(405, "Use GET for model readiness.", { allow: "GET" });
    if (rest === "infer") return method === "POST" ? { method, path: `${base}/infer` } : fail(405, "Use POST for inference.", { allow: "POST" });
  }
  return fail(404, `No such endpoint /${joined}. The gateway serves /v2/models/${model}/infer (POST), /v2/models/${model} (GET), /v2/health/ready and /invocations (POST).`);
}

const TOO_LARGE = `The request body is over ${MAX_INFERENCE_BODY_BYTES / 1024 / 1024} MiB; send fewer rows per request.`;

/** The body, read with a byte counter: a chunked upload is cut off at the limit, never buffered whole. */
async function readBody(req: Request): Promise<ArrayBuffer | Response> {
  if (Number(req.headers.get("content-length") ?? "0") > MAX_INFERENCE_BODY_BYTES) return fail(413, TOO_LARGE);
  if (!req.body) return new ArrayBuffer(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_INFERENCE_BODY_BYTES) {
      await reader.cancel().catch(() => undefined);
      return fail(413, TOO_LARGE);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    body.set(c, at);
    at += c.byteLength;
  }
  return body.buffer;
}

/** Forwards to a replica; when one cannot be reached, tries another once. */
async function forward(deploymentId: string, route: Route, body: ArrayBuffer | null, contentType: string | null): Promise<Response> {
  const runtime = deploymentRuntime();
  let lastError = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    // Held until the answer is read: the replica's in-flight count is what autoscaling acts on.
    const lease = runtime.acquire(deploymentId);
    if (!lease) break;
    try {
      const answer = await fetch(`${lease.url}${route.path}`, {
        method: route.method,
        body: body ?? undefined,
        headers: { ...runtime.replicaHeaders(), ...(contentType ? { "content-type": contentType } : {}) },
        signal: AbortSignal.timeout(REPLICA_TIMEOUT_MS),
      });
      const bytes = await answer.arrayBuffer();
      return new Response(bytes, { status: answer.status, headers: { "content-type": answer.headers.get("content-type") ?? "application/json", "x-content-type-options": "nosniff" } });
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      lease.release();
    }
  }
  return fail(503, `No replica of deployment ${deploymentId} answered${lastError ? ` (${lastError})` : ""}; it may be restarting — try again shortly.`, { "retry-after": "1" });
}

/** The answer for a deployment that serves nothing any more (stopped: 410, failed: 503), or null. */
function notServing(row: { id: string; status: string }): Response | null {
  if (row.status === "stopped") return fail(410, `Deployment ${row.id} was stopped; deploy the model again for a new endpoint.`);
  if (row.status === "failed") return fail(503, `Deployment ${row.id} failed and serves nothing; see its events on /deployments/${row.id}.`);
  return null;
}

/** Answers one gateway request. Never throws: every refusal is a JSON error with the right status. */
export async function serveInference(db: Db, req: Request, params: { team: string; deployment: string; path: string[] }): Promise<Response> {
  const started = performance.now();
  const seen: { labels?: { team: string; deployment: string } } = {};
  const answer = await (async (): Promise<Response> => {
    const authorization = req.headers.get("authorization");
    if (!authorization) return fail(401, "An API token of the deployment's team is required: send `Authorization: Bearer <token>` (create one under Settings → API tokens).", { "www-authenticate": "Bearer" });
    let actor;
    try {
      actor = await resolveTokenActor(db, credentialFromHeader(authorization));
    } catch (err) {
      if (err instanceof AppError) return fail(err.status, err.message, err.status === 401 ? { "www-authenticate": "Bearer" } : {});
      throw err;
    }
    const missing = fail(404, `Deployment ${params.deployment} was not found in team ${params.team}.`);
    if (!UUID.test(params.deployment)) return missing;
    const [row] = await db
      .select({ id: deployments.id, teamId: deployments.teamId, team: teams.slug, model: deployments.modelName, status: deployments.status })
      .from(deployments)
      .innerJoin(teams, eq(teams.id, deployments.teamId))
      .where(eq(deployments.id, params.deployment));
    if (!row || row.team !== params.team) return missing;
    // A token acts in its own team only; another team's deployment does not exist for it (and the refusal is audited).
    if (actor.tokenTeamId !== row.teamId || !can(actor, "read_data", row.teamId)) {
      await recordAudit({ actor, db, request: requestInfo(req) }, { action: "deployment.infer", target: `deployment:${row.team}/${row.id}`, teamId: row.teamId, team: row.team, outcome: "denied", details: { mode: "read", token_team: actor.tokenTeamSlug } });
      return missing;
    }
    seen.labels = { team: row.team, deployment: row.id };
    const route = replicaRoute(req.method, params.path, row.model);
    if (route instanceof Response) return route;
    const refused = notServing(row);
    if (refused) return refused;
    const body = route.method === "POST" ? await readBody(req) : null;
    if (body instanceof Response) return body;
    if (deploymentRuntime().pick(row.id) === null) {
      return fail(503, row.status === "deploying" ? `Deployment ${row.id} is still starting; try again in a few seconds.` : `No replica of deployment ${row.id} is serving right now; try again shortly.`, { "retry-after": "1" });
    }
    return forward(row.id, route, body, req.headers.get("content-type"));
  })().catch((err: unknown) => {
    console.error("[cairn] inference gateway error", err);
    return fail(500, "The gateway failed to answer; the error was logged.");
  });
  if (seen.labels) observeInference(seen.labels.team, seen.labels.deployment, answer.status, (performance.now() - started) / 1000);
  return answer;
}

export type TryResult = { status: number; body: string; ms: number };

/**
 * The try-it panel: a signed-in member sends one request to a deployment of their team through the
 * same replica path as the gateway (a browser holds a session, not a token).
 */
export async function tryInference(ctx: Ctx, id: string, endpoint: "infer" | "invocations", body: string): Promise<TryResult> {
  const row = await loadDeployment(ctx, id, { mode: "read" });
  const started = performance.now();
  let answer = notServing(row);
  if (!answer) {
    const route: Route = { method: "POST", path: endpoint === "infer" ? `/v2/models/${encodeURIComponent(row.modelName)}/infer` : "/invocations" };
    const bytes = new TextEncoder().encode(body);
    answer = await forward(row.id, route, bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer, "application/json");
  }
  const ms = Math.round((performance.now() - started) * 10) / 10;
  observeInference(row.team, row.id, answer.status, ms / 1000);
  return { status: answer.status, body: await answer.text(), ms };
}
