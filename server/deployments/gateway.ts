// The inference gateway: /serve/<team>/<model>/<environment>/… (a model's stable address: whichever
// deployment serves that environment now) and /serve/<team>/<deployment>/… (one deployment, pinned) → one
// of that deployment's replicas. A token of that team is required (a signed-in browser uses the try-it
// panel instead). Only the model server's own surface passes: Open Inference Protocol v2 (metadata,
// readiness, infer) for the deployment's model and MLflow's /invocations. Errors answer
// `{"error": "<what and how to fix it>"}`, as the model server does, so a client sees one shape whoever
// refused it. Every answer from a replica names the deployment that gave it in `x-cairn-deployment`, its
// version in `x-cairn-model-version` and the variant in `x-cairn-variant` (baseline or candidate of a traffic
// split on the stable address, `pinned` on a deployment's own address); every answer carries `x-request-id`
// (the client's, or a new one), the id feedback names. While a split is active each request is logged for it;
// a share of the requests (the deployment's sample rate) is sampled into the inference log for drift monitoring.
//
// One implementation serves two doors: the /serve route handler (a Web Request) and, in a running server, the
// fast lane (./gateway-http.ts: node:http, before Next's own request handling). Both hand serveInference a
// GatewayRequest and get back an Answer (status, headers, bytes); replicas are called over keep-alive HTTP/1.1
// (./replica-client.ts).
import { createHash, randomUUID } from "node:crypto";
import type { KubeConfig } from "@kubernetes/client-node";
import { and, eq } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { Db } from "@/db/client";
import type { DeploymentEnvironment } from "@/db/schema";
import { deployments, registeredModels, teams } from "@/db/schema";
import type { TokenActor } from "../auth/actor";
import { recordAudit } from "../audit/record";
import { can } from "../auth/policy";
import { requestInfo } from "../http/api-route";
import { credentialFromHeader } from "../auth/request-actor";
import { resolveTokenActor } from "../auth/token-actor";
import type { Ctx } from "../context";
import { callService } from "../compute/k8s-service-route";
import { defaultKubeConfig } from "../compute/kubernetes";
import { replicaSecret } from "../compute/k8s-serving-manifest";
import { authSecret, env } from "../env";
import { AppError } from "../errors";
import { recordInference } from "../observability/inference-rollups";
import { observeInference } from "../observability/metrics";
import { currentTraceparent, markError, requestParent, SpanKind, traceIdOf, tracingEnabled, withSpan } from "../observability/tracing";
import type { ServeAddress } from "./endpoints";
import { environmentDeployment, serveAddress, stableEndpointOf, wasReplaced } from "./endpoints";
import { recordSplitRequest } from "./split-log";
import { sampleInference } from "../drift/sampler";
import { activeSplitOf, splitRoute } from "./split-routing";
import type { ReplicaAnswer } from "./replica-client";
import { callReplica } from "./replica-client";
import { RouteCache, routeCache } from "./route-cache";
import { SPLIT_KEY_HEADER } from "@/lib/schemas/splits";
import { deploymentRuntime } from "./runtime";
import { loadDeployment } from "./service";
import { currentWorkers } from "../workers/registry";
import { leaderAddress } from "../workers/runtime";
import { log } from "../observability/log";

/** Request bodies the gateway forwards (the model server refuses larger ones too). */
export const MAX_INFERENCE_BODY_BYTES = 8 * 1024 * 1024;
const REPLICA_TIMEOUT_MS = 30_000;

/** A gateway answer: status, headers (lowercase names), body. */
export type Answer = { status: number; headers: Record<string, string>; body: Uint8Array };

/** The gateway's refusal: `{"error": "<what and how to fix it>"}` with its status, the model server's own shape. */
export const fail = (status: number, error: string, headers: Record<string, string> = {}): Answer => ({ status, headers: { "content-type": "application/json", ...headers }, body: Buffer.from(JSON.stringify({ error })) });

/** The answer as a Web Response (the route handler's). */
export function answerResponse(a: Answer): Response {
  return new Response(a.body.byteLength > 0 ? (a.body as Uint8Array<ArrayBuffer>) : null, { status: a.status, headers: a.headers });
}

/** What the gateway reads of a request, whichever door it came through. */
export type GatewayRequest = {
  method: string;
  /** The path and query as received. */
  target: string;
  /** A header's value (lowercase name), or null. */
  header(name: string): string | null;
  /** The body, counted as it arrives: null once it passes `limit` bytes (nothing more is buffered). */
  readBody(limit: number): Promise<Uint8Array | null>;
  /** All headers (the rare paths: auditing a refusal, tracing). */
  headers(): Headers;
};

/** A Web Request (the route handler's) as the gateway reads it. */
export function fromRequest(req: Request): GatewayRequest {
  const url = new URL(req.url);
  return {
    method: req.method,
    target: `${url.pathname}${url.search}`,
    header: (name) => req.headers.get(name),
    headers: () => req.headers,
    readBody: async (limit) => {
      if (!req.body) return new Uint8Array(0);
      const chunks: Uint8Array[] = [];
      let size = 0;
      const reader = req.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel().catch(() => undefined);
          return null;
        }
        chunks.push(value);
      }
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    },
  };
}

type Route = { method: "GET" | "POST"; path: string };

/**
 * The replica path for a gateway path, or an error response. `model` is the name the deployment's
 * replicas serve; `alsoKnownAs` are other names the caller may use for it (the registered model's name
 * now, after a rename): the path sent on always names the served one.
 */
export function replicaRoute(method: string, segments: string[], model: string, alsoKnownAs: string[] = []): Route | Answer {
  const joined = segments.join("/");
  if (joined === "invocations") return method === "POST" ? { method, path: "/invocations" } : fail(405, "Use POST for /invocations.", { allow: "POST" });
  if (joined === "v2/health/ready" || joined === "v2/health/live") return method === "GET" ? { method, path: `/${joined}` } : fail(405, `Use GET for /${joined}.`, { allow: "GET" });
  if (segments[0] === "v2" && segments[1] === "models" && segments[2] !== undefined) {
    if (segments[2] !== model && !alsoKnownAs.includes(segments[2])) return fail(404, `This deployment serves model "${model}", not "${segments[2]}": use /v2/models/${encodeURIComponent(model)}/….`);
    const rest = segments.slice(3).join("/");
    const base = `/v2/models/${encodeURIComponent(model)}`;
    if (rest === "") return method === "GET" ? { method, path: base } : fail(405, "Use GET for model metadata.", { allow: "GET" });
    if (rest === "ready") return method === "GET" ? { method, path: `${base}/ready` } : fail(405, "Use GET for model readiness.", { allow: "GET" });
    if (rest === "infer") return method === "POST" ? { method, path: `${base}/infer` } : fail(405, "Use POST for inference.", { allow: "POST" });
  }
  return fail(404, `No such endpoint /${joined}. The gateway serves /v2/models/${model}/infer (POST), /v2/models/${model} (GET), /v2/health/ready and /invocations (POST).`);
}

const TOO_LARGE = `The request body is over ${MAX_INFERENCE_BODY_BYTES / 1024 / 1024} MiB; send fewer rows per request.`;

/** The client closed the connection before its body was read (a GatewayRequest's readBody rejects with it). */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the request before its body was read");
  }
}

/** The body, read with a byte counter: a chunked upload is cut off at the limit, never buffered whole. */
async function readBody(req: GatewayRequest): Promise<Uint8Array | Answer> {
  if (Number(req.header("content-length") ?? "0") > MAX_INFERENCE_BODY_BYTES) return fail(413, TOO_LARGE);
  try {
    return (await req.readBody(MAX_INFERENCE_BODY_BYTES)) ?? fail(413, TOO_LARGE);
  } catch (err) {
    // Nobody is left to read the answer; it is still an answer (metrics count it), not an error of the gateway.
    if (err instanceof ClientGone) return fail(400, "The client closed the connection before the request body arrived.");
    throw err;
  }
}

const replicaAnswer = (answer: ReplicaAnswer): Answer => ({ status: answer.status, headers: { "content-type": answer.contentType ?? "application/json", "x-content-type-options": "nosniff" }, body: answer.body });

/** Forwards to a replica; when one cannot be reached, tries another once. */
async function forward(deploymentId: string, route: Route, body: Uint8Array | null, contentType: string | null): Promise<Answer> {
  const runtime = deploymentRuntime();
  let lastError = "";
  for (let attempt = 0; attempt < 2; attempt++) {
    // Held until the answer is read: the replica's in-flight count is what autoscaling acts on.
    const lease = runtime.acquire(deploymentId);
    if (!lease) break;
    try {
      const headers: Record<string, string> = runtime.replicaHeaders();
      if (contentType) headers["content-type"] = contentType;
      if (!tracingEnabled()) return replicaAnswer(await callReplica(lease.port, { method: route.method, path: route.path, headers, body, timeoutMs: REPLICA_TIMEOUT_MS }));
      // The replica's share of the request's time, as its own span (the gateway's overhead is the rest); the
      // replica gets the trace context in `traceparent`.
      return await withSpan("replica call", { kind: SpanKind.CLIENT, attributes: { "cairn.deployment.id": deploymentId, "http.request.method": route.method, "url.path": route.path } }, async (span) => {
        const traceparent = currentTraceparent();
        if (traceparent) headers.traceparent = traceparent;
        const answer = await callReplica(lease.port, { method: route.method, path: route.path, headers, body, timeoutMs: REPLICA_TIMEOUT_MS });
        span.setAttribute("http.response.status_code", answer.status);
        return replicaAnswer(answer);
      });
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    } finally {
      lease.release();
    }
  }
  return fail(503, `No replica of deployment ${deploymentId} answered${lastError ? ` (${lastError})` : ""}; it may be restarting — try again shortly.`, { "retry-after": "1" });
}

let kubeConfig: KubeConfig | null = null;
const clusterConfig = (): KubeConfig => (kubeConfig ??= defaultKubeConfig());

/** Forwards to a deployment's Service on Kubernetes (CAIRN_K8S_SERVING_ROUTE says how it is reached). */
async function forwardToService(target: { id: string; team: string }, route: Route, body: Uint8Array | null, contentType: string | null): Promise<Answer> {
  try {
    const answer = await callService(env().kubernetes.servingRoute, clusterConfig, {
      team: target.team, deploymentId: target.id, method: route.method, path: route.path, body, contentType, timeoutMs: REPLICA_TIMEOUT_MS, secret: replicaSecret(authSecret(), target.id),
    });
    return { status: answer.status, headers: { "content-type": answer.contentType ?? "application/json", "x-content-type-options": "nosniff" }, body: new Uint8Array(answer.body) };
  } catch (err) {
    // The cause (cluster addresses) is the operators' to read, not the caller's.
    log.error(`the Service of deployment ${target.id} did not answer`, { err });
    return fail(503, `The Service of deployment ${target.id} did not answer; its pods may be starting — try again shortly.`, { "retry-after": "1" });
  }
}

/** The answer for a deployment that serves nothing any more (stopped: 410, failed: 503), or null. */
function notServing(row: { id: string; status: string }): Answer | null {
  if (row.status === "stopped") return fail(410, `Deployment ${row.id} was stopped; deploy the model again for a new endpoint.`);
  if (row.status === "failed") return fail(503, `Deployment ${row.id} failed and serves nothing; see its events on /deployments/${row.id}.`);
  return null;
}

/** A deployment a request may be sent to: its id, its team, the model name its replicas serve, and the split variant it is (stable address). */
type Target = { id: string; team: string; model: string; backend: string; version: number; variant: "baseline" | "candidate" | "pinned"; split?: { splitId: string; variant: "baseline" | "candidate" } };
/** Finds (again) where an address leads: a deployment, or the answer when it leads nowhere now (`fresh`: read past the route cache). */
type Resolve = (fresh: boolean) => Promise<Target | Answer>;
/** Reads one route through the route cache, or straight from the database. */
type Lookup = <T>(key: string, load: () => Promise<T>, keep?: (value: T) => boolean) => Promise<T>;
const lookup = (cache: RouteCache, fresh: boolean): Lookup => (fresh ? (_key, load) => load() : (key, load, keep) => cache.get(key, load, keep));
/** Only what exists is kept: a made-up name is read again (the cache holds at most what the database does). */
const keptWhenFound = (value: unknown) => value !== null;
/**
 * An address the caller may use: whose it is (checked against the token), how to resolve it, and the names
 * its model may be called by in an OIP path (`model` first: the served name, or the registered one).
 */
type Addressed = { teamId: string; team: string; auditTarget: string; missing: () => Answer; resolve: Resolve; model: string; names: string[] };

/** Re-resolutions a request may take when the deployment it reached loses its replicas meanwhile (a rollout's switch). */
const MAX_HOPS = 3;

/**
 * Where an environment leads: the deployment serving it now, or a 503 while one starts or none is
 * deployed (`gone`, when given, answers instead of the latter — a replaced deployment's address).
 */
async function inEnvironment(db: Db, routes: Lookup, model: { id: string; name: string; team: string }, environment: DeploymentEnvironment, gone?: () => Answer, splitKey: string | null = null): Promise<Target | Answer> {
  const { d, split } = await routes(`e\u0000${model.id}\u0000${environment}`, async () => {
    const d = await environmentDeployment(db, model.id, environment);
    return { d, split: d?.status === "ready" && d.splitId !== null ? await activeSplitOf(db, d.id) : null };
  });
  if (d?.status === "ready") {
    // A traffic split on the deployment the address reaches sends its share to the candidate.
    const routed = gone || !split ? null : splitRoute(split, { id: d.id, version: d.version, model: d.modelName, backend: d.backend }, splitKey);
    if (routed) return { id: routed.id, team: model.team, model: routed.model, backend: routed.backend, version: routed.version, variant: routed.variant, split: { splitId: routed.splitId, variant: routed.variant } };
    return { id: d.id, team: model.team, model: d.modelName, backend: d.backend, version: d.version, variant: "baseline" };
  }
  if (d) {
    const what = d.status === "deploying" ? "is still starting" : "is scaled to zero";
    return fail(503, `The ${environment} deployment of ${model.name} (${d.id}, version ${d.version}) ${what}; try again in a few seconds.`, { "retry-after": "1" });
  }
  if (gone) return gone();
  return fail(503, `Nothing serves ${model.name} in ${environment}: it has no ${environment} deployment. ${environment === "production" ? "Request a production deploy and have a team lead approve it" : "Deploy a version to staging"}, then call ${stableEndpointOf(model.team, model.name, environment)} again.`, { "retry-after": "30" });
}

/** /serve/<team>/<model>/<environment>/…: the registered model (by its name now) in the named team. */
async function modelAddress(db: Db, cache: RouteCache, team: string, name: string, environment: DeploymentEnvironment, splitKey: string | null): Promise<Addressed | null> {
  const m = await cache.get(`m\u0000${team}\u0000${name}`, async () => {
    const [row] = await db
      .select({ id: registeredModels.id, teamId: registeredModels.teamId, team: teams.slug })
      .from(registeredModels)
      .innerJoin(teams, eq(teams.id, registeredModels.teamId))
      .where(and(eq(teams.slug, team), eq(registeredModels.name, name)));
    return row ?? null;
  }, keptWhenFound);
  if (!m) return null;
  const model = { id: m.id, name, team: m.team };
  return { teamId: m.teamId, team: m.team, auditTarget: `model:${m.team}/${name}`, missing: () => noModel(name, team), model: name, names: [name], resolve: (fresh) => inEnvironment(db, lookup(cache, fresh), model, environment, undefined, splitKey) };
}

const noModel = (name: string, team: string) => fail(404, `Model "${name}" was not found in team ${team}.`);

/**
 * /serve/<team>/<deployment id>/…: that deployment while it lives (looked up in the named team only, so another
 * team's id is never read nor kept — a miss either way); once a promotion or rollback replaced it, production's current one.
 */
async function deploymentAddress(db: Db, cache: RouteCache, team: string, id: string): Promise<Addressed | null> {
  const read = (routes: Lookup) => routes(`d\u0000${team}\u0000${id}`, async () => {
    const [row] = await db
      .select({
        id: deployments.id, teamId: deployments.teamId, team: teams.slug, model: deployments.modelName, modelId: deployments.modelId, modelNow: registeredModels.name,
        environment: deployments.environment, status: deployments.status, createdAt: deployments.createdAt, stoppedAt: deployments.stoppedAt, backend: deployments.backend,
        version: deployments.version,
      })
      .from(deployments)
      .innerJoin(teams, eq(teams.id, deployments.teamId))
      .innerJoin(registeredModels, eq(registeredModels.id, deployments.modelId))
      .where(and(eq(deployments.id, id), eq(teams.slug, team)));
    return row ?? null;
  }, keptWhenFound);
  const first = await read(lookup(cache, false));
  if (!first) return null;
  const resolve: Resolve = async (fresh) => {
    const routes = lookup(cache, fresh);
    const row = await read(routes);
    if (!row) return fail(410, `Deployment ${id} no longer exists.`);
    const refused = notServing(row);
    if (!refused) return { id: row.id, team: row.team, model: row.model, backend: row.backend, version: row.version, variant: "pinned" };
    // Replaced by a promotion or a rollback: its callers are answered by what serves production now, so
    // an address in use keeps answering through the switch (and after it; x-cairn-deployment says who answered).
    if (await routes(`r\u0000${row.id}`, () => wasReplaced(db, row))) {
      const model = { id: row.modelId, name: row.modelNow, team: row.team };
      return inEnvironment(db, routes, model, "production", () => fail(410, `Deployment ${row.id} was replaced, and nothing serves ${row.modelNow} in production now; call ${stableEndpointOf(row.team, row.modelNow, "production")} once a production deployment serves again.`));
    }
    return refused;
  };
  return { teamId: first.teamId, team: first.team, auditTarget: `deployment:${first.team}/${first.id}`, missing: () => noDeployment(id, first.team), model: first.model, names: [first.modelNow], resolve };
}

const noDeployment = (id: string, team: string) => fail(404, `Deployment ${id} was not found in team ${team}.`);

/** Set on a request one Cairn process passes to the leading one, so it is never passed on again. */
const FORWARDED_HEADER = "x-cairn-forwarded";
const LEADER_TTL_MS = 2_000;
let knownLeader: { url: string | null; at: number } = { url: null, at: 0 };

/**
 * Replicas run in the leading process only (they are its children): a process that does not lead passes an
 * inference request, as it came (the token included: the leader checks it again), to the leader's address
 * (CAIRN_INTERNAL_URL, advertised on the leader lock's session) and answers what the leader answered.
 */
async function viaLeader(db: Db, req: GatewayRequest, params: GatewayParams, requestId: string): Promise<Answer> {
  if (Date.now() - knownLeader.at > LEADER_TTL_MS) knownLeader = { url: await leaderAddress(db), at: Date.now() };
  const leader = knownLeader.url;
  if (!leader) return fail(503, "No Cairn process leads the workers right now (another takes over within seconds); try again.", { "retry-after": "2" });
  const body = req.method === "POST" ? await readBody(req) : null;
  if (isAnswer(body)) return body;
  const headers: Record<string, string> = { [FORWARDED_HEADER]: "1", "x-request-id": requestId };
  for (const name of ["authorization", "content-type", "accept", SPLIT_KEY_HEADER.toLowerCase()]) {
    const value = req.header(name);
    if (value !== null) headers[name] = value;
  }
  try {
    // The path is rebuilt from the address's own (decoded, checked) segments, never passed on as received.
    const q = req.target.indexOf("?");
    const path = `/serve/${[params.team, params.deployment, ...params.path].map(encodeURIComponent).join("/")}${q === -1 ? "" : req.target.slice(q)}`;
    const answer = await fetch(`${leader}${path}`, { method: req.method, headers, body: body as Uint8Array<ArrayBuffer> | null, signal: AbortSignal.timeout(REPLICA_TIMEOUT_MS), redirect: "manual" });
    const passed: Record<string, string> = {};
    for (const name of ["content-type", "x-cairn-deployment", "x-cairn-variant", "x-cairn-model-version", "x-request-id", "retry-after", "www-authenticate", "allow"]) {
      const value = answer.headers.get(name);
      if (value !== null) passed[name] = value;
    }
    return { status: answer.status, headers: passed, body: new Uint8Array(await answer.arrayBuffer()) };
  } catch (err) {
    knownLeader = { url: null, at: 0 };
    return fail(503, `The leading Cairn process (${leader}) did not answer (${err instanceof Error ? err.message : String(err)}); try again in a few seconds.`, { "retry-after": "2", "x-request-id": requestId });
  }
}

/** A token's refusals of one method on one target are audited once per window (per process), not once per request. */
const REFUSAL_AUDIT_WINDOW_MS = 60_000;
/** Refusals remembered at most (the oldest is forgotten first): a flood of made-up addresses cannot grow memory. */
const MAX_REMEMBERED_REFUSALS = 10_000;
const auditedRefusals = new Map<string, number>();

/** Whether a refusal of this token, method and target is due for the audit trail now (and notes that it is). */
function refusalDue(tokenId: string, method: string, target: string): boolean {
  // The target holds the caller's text (a name up to the header limit): only its digest is kept.
  const key = createHash("sha256").update(`${tokenId} ${method} ${target}`).digest("base64url");
  const now = Date.now();
  if (now - (auditedRefusals.get(key) ?? -Infinity) < REFUSAL_AUDIT_WINDOW_MS) return false;
  auditedRefusals.delete(key);
  auditedRefusals.set(key, now);
  // Insertion order is age order: drop the oldest beyond the bound (one at a time, never a walk of the map).
  while (auditedRefusals.size > MAX_REMEMBERED_REFUSALS) auditedRefusals.delete(auditedRefusals.keys().next().value!);
  return true;
}

/** Lookups behind foreign refusals run at most this many at once; beyond, the rest wait in a bounded queue. */
const AUDIT_LOOKUPS_AT_ONCE = 2;
const AUDIT_LOOKUPS_QUEUED = 1_000;
const auditLookups = { running: 0, queue: [] as (() => Promise<void>)[], dropped: 0, warnedAt: 0 };

/** Runs an audit lookup off the request path, a few at a time; when the queue is full it is dropped (and counted). */
function scheduleAuditLookup(job: () => Promise<void>): void {
  if (auditLookups.running >= AUDIT_LOOKUPS_AT_ONCE) {
    if (auditLookups.queue.length >= AUDIT_LOOKUPS_QUEUED) {
      auditLookups.dropped++;
      if (Date.now() - auditLookups.warnedAt > 60_000) {
        auditLookups.warnedAt = Date.now();
        log.warn(`refused inference requests to other teams' addresses are arriving faster than they can be checked for the audit trail; ${auditLookups.dropped} not checked so far`);
      }
      return;
    }
    auditLookups.queue.push(job);
    return;
  }
  auditLookups.running++;
  void job()
    .catch((err: unknown) => log.error("auditing a refused inference request failed", { err }))
    .finally(() => {
      auditLookups.running--;
      const next = auditLookups.queue.shift();
      if (next) scheduleAuditLookup(next);
    });
}

/**
 * After a foreign token was answered as for a missing object: looks the address up (past the route cache, off the
 * request path) and audits the refusal when something of the named team is there. Once per token, method and
 * target a window, so repeating the request neither grows the audit trail nor loads the database.
 */
function auditForeignAddress(db: Db, req: GatewayRequest, actor: TokenActor, team: string, address: ServeAddress, splitKey: string | null): void {
  const target = address.kind === "model" ? `model:${team}/${address.model}` : `deployment:${team}/${address.id}`;
  if (!refusalDue(actor.tokenId, req.method, target)) return;
  const uncached = new RouteCache();
  scheduleAuditLookup(async () => {
    const addressed = address.kind === "model"
      ? await modelAddress(db, uncached, team, address.model, address.environment, splitKey)
      : UUID.test(address.id) ? await deploymentAddress(db, uncached, team, address.id) : null;
    if (addressed && addressed.team === team) writeRefusal(db, req, actor, addressed);
  });
}

/**
 * Audits a foreign token's refused request without holding up the answer (so a refusal takes as long as a
 * request for something that does not exist), and at most once per token, method and target per window (so another
 * team cannot grow this team's audit trail, or queue everyone's audited writes, by repeating requests).
 */
function auditRefusal(db: Db, req: GatewayRequest, actor: TokenActor, addressed: Addressed): void {
  if (refusalDue(actor.tokenId, req.method, addressed.auditTarget)) writeRefusal(db, req, actor, addressed);
}

function writeRefusal(db: Db, req: GatewayRequest, actor: TokenActor, addressed: Addressed): void {
  void recordAudit({ actor, db, request: requestInfo({ headers: req.headers() }) }, {
    action: "deployment.infer", target: addressed.auditTarget, teamId: addressed.teamId, team: addressed.team, outcome: "denied",
    details: { mode: "read", token_team: actor.tokenTeamSlug, repeats_within_s: REFUSAL_AUDIT_WINDOW_MS / 1000 },
  }).catch((err: unknown) => log.error("auditing a refused inference request failed", { err }));
}

type GatewayParams = { team: string; deployment: string; path: string[] };

/** Whether any segment of the address (team, deployment, the path's) is one `test` picks. */
function someSegment(params: GatewayParams, test: (segment: string) => boolean): boolean {
  if (test(params.team) || test(params.deployment)) return true;
  for (const s of params.path) if (test(s)) return true;
  return false;
}

/**
 * Answers one gateway request. Never throws: every refusal is a JSON error with the right status. Traced (when
 * tracing is on) as one server span with the deployment, version and variant that answered; off, it is a plain call.
 */
export function serveInference(db: Db, req: GatewayRequest, params: GatewayParams): Promise<Answer> {
  if (!tracingEnabled()) return serveInferenceNow(db, req, params);
  return withSpan(`${req.method} /serve/[team]/[deployment]`, {
    kind: SpanKind.SERVER,
    parent: requestParent(req.headers()),
    attributes: { "http.request.method": req.method, "http.route": "/serve/[team]/[deployment]/[...path]", "cairn.team": params.team },
  }, async (span) => {
    const seen: Seen = {};
    const answer = await serveInferenceNow(db, req, params, seen);
    const target = seen.target;
    span.setAttributes({
      "http.response.status_code": answer.status,
      "cairn.request_id": answer.headers["x-request-id"] ?? "",
      ...(seen.labels ? { "cairn.deployment.id": seen.labels.deployment } : {}),
      ...(target ? { "cairn.model.name": target.model, "cairn.model.version": target.version, "cairn.variant": target.variant } : {}),
    });
    if (answer.status >= 500) markError(span, `answered ${answer.status}`);
    const traceId = traceIdOf(span);
    if (traceId) answer.headers["x-trace-id"] = traceId;
    return answer;
  });
}

/** What the gateway learned while answering: the deployment that answered (metrics' labels) and the target it reached. */
type Seen = { labels?: { team: string; deployment: string }; target?: Target; body?: Uint8Array | null };

async function serveInferenceNow(db: Db, req: GatewayRequest, params: GatewayParams, seen: Seen = {}): Promise<Answer> {
  const requestId = requestIdOf(req);
  // No segment of an address is a dot segment or holds a slash: such a path names nothing here (and must never
  // become a URL that resolves elsewhere).
  if (someSegment(params, (s) => s === "." || s === ".." || s.includes("/") || s.includes("\\"))) {
    return { ...fail(404, "No such address: the path's segments may not be dot segments or hold a slash."), headers: { "content-type": "application/json", "x-request-id": requestId } };
  }
  const workers = currentWorkers();
  if (workers && !workers.isLeader() && req.header(FORWARDED_HEADER) === null) {
    return viaLeader(db, req, params, requestId).catch((err: unknown) => {
      log.error("passing an inference request to the leader failed", { err });
      return fail(500, "The gateway failed to answer; the error was logged.", { "x-request-id": requestId });
    });
  }
  const started = performance.now();
  const splitKey = req.header(SPLIT_KEY_HEADER.toLowerCase());
  const answer = await (async (): Promise<Answer> => {
    const authorization = req.header("authorization");
    if (!authorization) return fail(401, "An API token of the deployment's team is required: send `Authorization: Bearer <token>` (create one under Settings → API tokens).", { "www-authenticate": "Bearer" });
    let actor: TokenActor;
    try {
      actor = await resolveTokenActor(db, credentialFromHeader(authorization));
    } catch (err) {
      if (err instanceof AppError) return fail(err.status, err.message, err.status === 401 ? { "www-authenticate": "Bearer" } : {});
      throw err;
    }
    if (someSegment(params, (segment) => segment.includes("\u0000"))) return fail(400, "The address contains a NUL character (%00); remove it.");
    const address = serveAddress(params.deployment, params.path);
    const missing = (): Answer => {
      if (address.kind === "model") return noModel(address.model, params.team);
      if (!UUID.test(address.id)) return fail(404, `Deployment ${address.id} was not found in team ${params.team}. A model's address names its environment: /serve/${params.team}/${encodeURIComponent(address.id)}/production/… or …/staging/….`);
      return noDeployment(address.id, params.team);
    };
    // A token acts in its own team only: another team's address is answered at once as a missing one, before any
    // lookup (so neither the answer nor its timing says whether the model exists or is in use); whether it
    // exists, for the audit trail, is looked up after the answer.
    if (actor.tokenTeamSlug !== params.team) {
      auditForeignAddress(db, req, actor, params.team, address, splitKey);
      return missing();
    }
    const routes = routeCache(db);
    let addressed: Addressed | null;
    if (address.kind === "model") {
      addressed = await modelAddress(db, routes, params.team, address.model, address.environment, splitKey);
    } else {
      addressed = UUID.test(address.id) ? await deploymentAddress(db, routes, params.team, address.id) : null;
    }
    if (!addressed) return missing();
    // Another team's object answers exactly as a missing one of the named team (its team is not revealed).
    if (addressed.team !== params.team) return address.kind === "model" ? noModel(address.model, params.team) : noDeployment(address.id, params.team);
    // A token acts in its own team only; another team's model or deployment does not exist for it (and the refusal is audited).
    if (actor.tokenTeamId !== addressed.teamId || !can(actor, "read_data", addressed.teamId)) {
      auditRefusal(db, req, actor, addressed);
      return addressed.missing();
    }
    if (address.kind === "deployment") seen.labels = { team: addressed.team, deployment: address.id };
    // Every name the path may use for the model: the addressed one's, then those of each deployment the request reaches.
    const names = [addressed.model, ...addressed.names];
    // A pinned address knows its model before it is resolved: a path it cannot serve is refused first, as before.
    const early = address.kind === "deployment" ? replicaRoute(req.method, address.path, addressed.model, names) : null;
    if (isAnswer(early)) return early;
    const resolved = await addressed.resolve(false);
    if (isAnswer(resolved)) return resolved;
    let target: Target = resolved;
    seen.labels = { team: target.team, deployment: target.id };
    const route = replicaRoute(req.method, address.path, target.model, names);
    if (isAnswer(route)) return route;
    const body = route.method === "POST" ? await readBody(req) : null;
    if (isAnswer(body)) return body;
    seen.body = body;
    const runtime = deploymentRuntime();
    for (let hop = 1; ; hop++) {
      const routed = replicaRoute(req.method, address.path, target.model, names);
      if (isAnswer(routed)) return routed;
      names.push(target.model);
      seen.target = target;
      if (target.backend === "kubernetes") return servedBy(await forwardToService(target, routed, body, req.header("content-type")), target);
      if (runtime.serves(target.id)) {
        const answer = await forward(target.id, routed, body, req.header("content-type"));
        // A deployment that lost its replicas while this request was on its way (replaced by a rollout and
        // released) is looked up again below; any other answer, a replica's own errors included, stands.
        if (answer.status !== 503 || runtime.serves(target.id)) return servedBy(answer, target);
      }
      // Read past the cache: what it kept led here.
      const next: Target | Answer = hop < MAX_HOPS ? await addressed.resolve(true) : target;
      if (isAnswer(next)) return next;
      if (next.id === target.id) return fail(503, `No replica of deployment ${target.id} is serving right now (it may be starting or restarting); try again in a few seconds.`, { "retry-after": "1" });
      target = next;
      seen.labels = { team: target.team, deployment: target.id };
    }
  })().catch((err: unknown) => {
    log.error("inference gateway error", { err });
    return fail(500, "The gateway failed to answer; the error was logged.");
  });
  const seconds = (performance.now() - started) / 1000;
  if (seen.labels) {
    observeInference(seen.labels.team, seen.labels.deployment, answer.status, seconds);
    // Cairn's own per-minute rollups, under the deployment that answered (a split's candidate is one of its own).
    recordInference({ deploymentId: seen.labels.deployment, status: answer.status, seconds });
  }
  answer.headers["x-request-id"] = requestId;
  const split = seen.target?.split;
  // Logged off the request path (batched writes); the answer's copy is read for the prediction later.
  if (split) recordSplitRequest(db, { splitId: split.splitId, variant: split.variant, deploymentId: seen.target!.id, requestId, status: answer.status, latencyMs: seconds * 1000, answer });
  // Drift monitoring's sample (the deployment's rate), read and written off the request path too.
  if (seen.target && seen.body) sampleInference(db, { deploymentId: seen.target.id, requestId, body: seen.body, answer });
  return answer;
}

/** The client's X-Request-Id when it is a plain token (letters, digits, `._:-`, ≤ 128), else a new one. */
function requestIdOf(req: GatewayRequest): string {
  const given = req.header("x-request-id");
  return given && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

/** Names who answered: the deployment, its version, and the split variant (or `pinned`, a deployment's own address). */
function servedBy(answer: Answer, target: Target): Answer {
  answer.headers["x-cairn-deployment"] = target.id;
  answer.headers["x-cairn-model-version"] = String(target.version);
  answer.headers["x-cairn-variant"] = target.variant;
  return answer;
}

/** A gateway answer, as opposed to a route, target or body on the way to one. */
function isAnswer(x: unknown): x is Answer {
  return typeof x === "object" && x !== null && "status" in x && "body" in x && "headers" in x;
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
    const payload = Buffer.from(body);
    answer = row.backend === "kubernetes" ? await forwardToService(row, route, payload, "application/json") : await forward(row.id, route, payload, "application/json");
  }
  const ms = Math.round((performance.now() - started) * 10) / 10;
  observeInference(row.team, row.id, answer.status, ms / 1000);
  recordInference({ deploymentId: row.id, version: row.version, status: answer.status, seconds: ms / 1000 });
  return { status: answer.status, body: Buffer.from(answer.body).toString("utf8"), ms };
}
