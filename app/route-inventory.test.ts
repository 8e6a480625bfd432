// The route inventory: every route handler (app/**/route.ts, each exported method) is called for real, against
// a demo database, as anonymous, as a member of another team, and as each role of the object's team, and the
// status must be what the policy table (server/auth/policy.ts) says: anonymous 401 (public routes aside),
// another team's object 404, a write the role does not allow in its own team 403, allowed 2xx (or a status
// the entry names, with the reason) — never 500. A route or method not listed here fails the test.
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { and, count, eq } from "drizzle-orm";
import { NextRequest } from "next/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { alerts, auditEvents, deployments, memberships, modelVersions, registeredModels, sweeps, teams, users } from "@/db/schema";
import { createAlertRule } from "@/server/alerts/service";
import type { Actor } from "@/server/auth/actor";
import type { Permission } from "@/server/auth/policy";
import { can } from "@/server/auth/policy";
import type { ComputeBackend } from "@/server/compute/backend";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { cancelJob } from "@/server/jobs/service";
import { zipOf } from "@/server/jobs/testing/archives";
import { artifacts, createRun, post } from "@/server/mlflow/test-client";
import { createModel, newRun, onnxModelBytes, putRunFile, registerVersion } from "@/server/registry/test-helpers";
import { saveInstanceType } from "@/server/teams/instance-types";
import { createToken } from "@/server/tokens/service";
import { DEMO, actorFor, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { useBackend } from "@/server/workers/testing";

const db = demoDatabase();

const WHO = ["anonymous", "foreign", "data_scientist", "ml_engineer", "team_lead", "admin"] as const;
type Who = (typeof WHO)[number];
const EMAIL: Record<Exclude<Who, "anonymous">, string> = {
  foreign: DEMO.leadFraud, data_scientist: DEMO.ds, ml_engineer: DEMO.mle, team_lead: DEMO.lead, admin: DEMO.admin,
};

/**
 * How a route is authorized:
 * - `public`: no credentials needed;
 * - `team`: about one object of team churn — another team's member gets 404, a churn role without
 *   `permission` 403 (`allow` replaces the permission check for owner rules: own job, own request, own token);
 * - `caller`: the caller's own scope (lists, me): every signed-in caller, or those holding `permission`
 *   in their own team (403 otherwise);
 * - `platform`: platform-wide (manage_platform): 403 for everyone but admins;
 * - `session`: browser sessions only — every token gets 403.
 */
type Scope = "public" | "team" | "caller" | "platform" | "session";
type Req = { path: string; params?: Record<string, string | string[]>; body?: unknown; raw?: Uint8Array; contentType?: string };
type Entry = {
  route: string;
  method: string;
  scope: Scope;
  permission?: Permission;
  allow?: (who: Who, actor: Actor) => boolean;
  /** A personal object (a token): other members are refused with 404 like other teams, its existence not revealed. */
  personal?: boolean;
  /** What an allowed caller gets; anything else than 2xx says why in `why`. */
  ok: number[];
  why?: string;
  /**
   * Why another team's object answers 404 here without a denied audit row: the object is addressed by a
   * name looked up only in the caller's own teams, so it is never found (the same answer as no such name).
   */
  unaddressed?: string;
  /** Not callable outside a running Next server; the named suite covers it. Still listed, so nothing goes unlisted. */
  external?: string;
  /** Built per call, so a call that consumes its object (cancel, delete, decide) gets a fresh one. */
  request: (who: Who) => Promise<Req> | Req;
};

const s = {
  churnId: "", exp: "", run: "", job: "", finishedJob: "", finishedJobOwner: "", codeJob: "", deployment: "", archive: "",
  model: "", sweep: "", outsider: "", outsiderEmail: `inventory-${Date.now()}@example.com`, seq: 0,
};
const tokens: Partial<Record<Who, string>> = {};
const actors: Partial<Record<Who, Actor>> = {};
const next = () => `${Date.now().toString(36)}${(s.seq++).toString(36)}`;

/** A compute backend that holds every attempt (nothing runs on this machine) until it is cancelled. */
function heldBackend(): ComputeBackend {
  const held = new Map<string, (e: { exitCode: number | null; signal: string | null; reason?: "cancelled" }) => void>();
  return {
    name: "local",
    async start(spec, handlers) { const ref = `held-${spec.jobId}-${spec.attempt}`; held.set(ref, handlers.onExit); return { ref }; },
    async cancel(ref) { const exit = held.get(ref); held.delete(ref); exit?.({ exitCode: null, signal: "SIGTERM", reason: "cancelled" }); },
    async isAlive(ref) { return held.has(ref); },
    async kill(ref) { held.delete(ref); },
    async locate(at) { const ref = `held-${at.jobId}-${at.attempt}`; return held.has(ref) ? ref : null; },
  };
}

async function send(entry: Entry, who: Who, handler: (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>) {
  const r = await entry.request(who);
  const headers = new Headers();
  const token = tokens[who];
  if (token) headers.set("authorization", `Bearer ${token}`);
  let body: BodyInit | undefined;
  if (r.raw) { body = r.raw as Uint8Array<ArrayBuffer>; headers.set("content-type", r.contentType ?? "application/octet-stream"); }
  else if (r.body !== undefined) { body = JSON.stringify(r.body); headers.set("content-type", "application/json"); }
  // A NextRequest, as Next passes (next-auth reads nextUrl).
  const res = await handler(new NextRequest(`http://localhost${r.path}`, { method: entry.method, headers, body }), { params: Promise.resolve(r.params ?? {}) });
  // Event streams never end: the status is all we need; JSON bodies explain a surprise.
  const type = res.headers.get("content-type") ?? "";
  const text = type.includes("json") ? await res.text() : (await res.body?.cancel(), "");
  return { status: res.status, text: text.slice(0, 400) };
}

/** The status the policy table gives `who` for `entry` (undefined: one of entry.ok). */
function expected(entry: Entry, who: Who): number | undefined {
  if (entry.scope === "public") return undefined;
  if (who === "anonymous") return 401;
  const actor = actors[who]!;
  const own = actor.memberships[0]?.teamId;
  switch (entry.scope) {
    case "session": return 403;
    case "platform": return can(actor, "manage_platform") ? undefined : 403;
    case "caller": return !entry.permission || can(actor, entry.permission, own) ? undefined : 403;
    case "team": {
      if (who === "foreign") return 404;
      const allowed = entry.allow ? entry.allow(who, actor) : can(actor, entry.permission ?? "read_data", s.churnId);
      return allowed ? undefined : entry.personal ? 404 : 403;
    }
  }
}

// ---- objects -------------------------------------------------------------------------------------------

async function trainJob(token: string, spec: Record<string, unknown>): Promise<string> {
  const { POST } = await import("@/app/api/v1/experiments/[id]/train/route");
  const res = await POST(new Request(`http://localhost/api/v1/experiments/${s.exp}/train`, {
    method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ instance_type: "cpu.small", ...spec }),
  }), { params: Promise.resolve({ id: s.exp }) });
  const json = (await res.json()) as { job_id?: string };
  if (res.status !== 202 || !json.job_id) throw new Error(`train: ${res.status} ${JSON.stringify(json)}`);
  return json.job_id;
}

const SWEEP = { space: [{ name: "lr", type: "uniform", low: 0.01, high: 0.1 }], objective: { metric: "val_loss", direction: "minimize" }, algorithm: "random", template: { command: ["true"], instance_type: "cpu.small" } };

/** A sweep of the data scientist's (no driver runs here: it stays running, with no trials). */
async function newSweep(state: "running" | "paused" = "running"): Promise<string> {
  const { POST } = await import("@/app/api/v1/experiments/[id]/sweeps/route");
  const res = await POST(new Request(`http://localhost/api/v1/experiments/${s.exp}/sweeps`, {
    method: "POST", headers: { authorization: `Bearer ${tokens.data_scientist}`, "content-type": "application/json" }, body: JSON.stringify(SWEEP),
  }), { params: Promise.resolve({ id: s.exp }) });
  const json = (await res.json()) as { sweep_id?: string };
  if (res.status !== 201 || !json.sweep_id) throw new Error(`sweep: ${res.status} ${JSON.stringify(json)}`);
  if (state === "paused") await db().update(sweeps).set({ state: "paused" }).where(eq(sweeps.id, json.sweep_id));
  return json.sweep_id;
}

async function productionRequest(): Promise<string> {
  const { POST } = await import("@/app/api/v1/models/[name]/deploy/route");
  const res = await POST(new Request(`http://localhost/api/v1/models/${s.model}/deploy`, {
    method: "POST", headers: { authorization: `Bearer ${tokens.ml_engineer}`, "content-type": "application/json" },
    body: JSON.stringify({ environment: "production", replicas: 1, auto_scale: false }),
  }), { params: Promise.resolve({ name: s.model }) });
  const json = (await res.json()) as { approval_request_id?: string };
  if (res.status !== 202 || !json.approval_request_id) throw new Error(`deploy: ${res.status} ${JSON.stringify(json)}`);
  return json.approval_request_id;
}

/** A job_failures rule of churn, made by its lead. */
async function alertRule(): Promise<string> {
  const rule = await createAlertRule(await ctxFor(db(), DEMO.lead), { team: "churn", name: `Inv${next()}`, kind: "job_failures", threshold: 1 });
  return rule.id;
}

/** A firing alert of a fresh churn rule (what the evaluator would have written). */
async function firingAlert(): Promise<string> {
  const ruleId = await alertRule();
  const [row] = await db().insert(alerts).values({ ruleId, teamId: s.churnId, state: "firing", value: 3, threshold: 1, startedAt: new Date(), firedAt: new Date() }).returning({ id: alerts.id });
  return row!.id;
}

async function registeredModel(): Promise<string> {
  const name = `inv-model-${next()}`;
  const res = await post(tokens.admin!, "registered-models/create", { name });
  if (res.status !== 200) throw new Error(`create model: ${res.status} ${res.text}`);
  return name;
}

async function outsiderMember(): Promise<void> {
  const [m] = await db().select().from(memberships).where(and(eq(memberships.teamId, s.churnId), eq(memberships.userId, s.outsider)));
  if (!m) await db().insert(memberships).values({ teamId: s.churnId, userId: s.outsider, role: "data_scientist" });
}

async function noOutsider(): Promise<void> {
  await db().delete(memberships).where(and(eq(memberships.teamId, s.churnId), eq(memberships.userId, s.outsider)));
}

const QUOTA = { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 5000 };
const TYPE = { cpu: 2, memory_gib: 4, hourly_price_usd: 0.1 };
const mlflowPath = (p: string) => ({ path: `/api/2.0/mlflow/${p}`, params: { path: p.split("?")[0]!.split("/") } });
const ajaxPath = (p: string) => ({ path: `/ajax-api/2.0/mlflow/${p}`, params: { path: p.split("?")[0]!.split("/") } });
const artifactPath = (p: string) => ({ path: `/api/2.0/mlflow-artifacts/artifacts/${p}`, params: { path: p.split("/") } });

const MODEL_NAMES = "models are named per team: a token looks a name up in its own team only";

// ---- the inventory -------------------------------------------------------------------------------------

const ENTRIES: Entry[] = [
  // Public
  { route: "api/health", method: "GET", scope: "public", ok: [200], request: () => ({ path: "/api/health" }) },
  { route: "api/metrics", method: "GET", scope: "public", ok: [200], request: () => ({ path: "/api/metrics" }) },
  { route: "api/v1/openapi.json", method: "GET", scope: "public", ok: [200], request: () => ({ path: "/api/v1/openapi.json" }) },
  // next-auth's handler reads cookies() from Next's request scope, which a direct call does not have; the
  // browser specs (e2e/auth) sign in and out through it.
  { route: "api/auth/[...nextauth]", method: "GET", scope: "public", ok: [200], external: "e2e/auth", request: () => ({ path: "/api/auth/providers", params: { nextauth: ["providers"] } }) },
  { route: "api/auth/[...nextauth]", method: "POST", scope: "public", ok: [200, 302], external: "e2e/auth", request: () => ({ path: "/api/auth/signout", params: { nextauth: ["signout"] } }) },
  // Identity and tokens
  { route: "api/v1/me", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/me" }) },
  { route: "api/v1/tokens", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/tokens" }) },
  { route: "api/v1/tokens", method: "POST", scope: "session", ok: [201], request: () => ({ path: "/api/v1/tokens", body: { name: "x", team: "churn", expires_in_days: 1 } }) },
  {
    // Tokens are personal: someone else's token is not revealed (404), whatever the role; admins revoke any.
    route: "api/v1/tokens/[id]", method: "DELETE", scope: "team", allow: (who) => who === "data_scientist" || who === "admin", personal: true, ok: [204],
    request: async () => {
      const t = await createToken(await ctxFor(db(), DEMO.ds), { name: `inv ${next()}`, team: "churn", expires_in_days: 1 });
      return { path: `/api/v1/tokens/${t.id}`, params: { id: t.id } };
    },
  },
  // Catch-all: an unknown /api/v1 path is a 404 for every signed-in caller (and 401 before that).
  ...["GET", "POST", "PUT", "PATCH", "DELETE"].map((method): Entry => ({
    route: "api/v1/[...path]", method, scope: "caller", ok: [404], why: "there is no such route", request: () => ({ path: "/api/v1/nope", params: { path: ["nope"] } }),
  })),
  // Experiments, runs, training
  { route: "api/v1/experiments", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/experiments" }) },
  { route: "api/v1/experiments", method: "POST", scope: "team", permission: "train_model", ok: [201], request: () => ({ path: "/api/v1/experiments", body: { name: `inv-${next()}`, team: "churn" } }) },
  { route: "api/v1/experiments/[id]", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/experiments/${s.exp}`, params: { id: s.exp } }) },
  { route: "api/v1/experiments/[id]/runs", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/experiments/${s.exp}/runs`, params: { id: s.exp } }) },
  { route: "api/v1/experiments/[id]/charts/runs", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/experiments/${s.exp}/charts/runs?keys=params.lr`, params: { id: s.exp } }) },
  { route: "api/v1/experiments/[id]/charts/history", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/experiments/${s.exp}/charts/history?metric=loss`, params: { id: s.exp } }) },
  { route: "api/v1/experiments/[id]/charts/importance", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/experiments/${s.exp}/charts/importance?objective=auc`, params: { id: s.exp } }) },
  {
    route: "api/v1/experiments/[id]/train", method: "POST", scope: "team", permission: "train_model", ok: [202],
    request: () => ({ path: `/api/v1/experiments/${s.exp}/train`, params: { id: s.exp }, body: { command: ["true"], instance_type: "cpu.small" } }),
  },
  { route: "api/v1/runs/[id]", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/runs/${s.run}`, params: { id: s.run } }) },
  {
    route: "api/v1/runs/[id]/artifacts/preview", method: "GET", scope: "team", ok: [200],
    request: () => ({ path: `/api/v1/runs/${s.run}/artifacts/preview?path=inv.txt`, params: { id: s.run } }),
  },
  {
    // A run of its own per call: registering pins the run's files, after which they may not be overwritten.
    route: "api/v1/runs/[id]/register", method: "POST", scope: "team", permission: "train_model", ok: [201],
    request: async () => {
      const run = (await createRun(tokens.data_scientist!, s.exp)).run_id;
      expect((await artifacts(tokens.data_scientist!, "PUT", `${s.exp}/${run}/artifacts/model/model.bin`, { body: "weights" })).status).toBe(200);
      return { path: `/api/v1/runs/${run}/register`, params: { id: run }, body: { name: `inv-reg-${next()}`, path: "model" } };
    },
  },
  // Jobs and code
  { route: "api/v1/jobs", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/jobs" }) },
  { route: "api/v1/jobs/events", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/jobs/events" }) },
  { route: "api/v1/jobs/[id]", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/jobs/${s.job}`, params: { id: s.job } }) },
  { route: "api/v1/jobs/[id]/logs", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/jobs/${s.job}/logs`, params: { id: s.job } }) },
  { route: "api/v1/jobs/[id]/resources", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/jobs/${s.job}/resources`, params: { id: s.job } }) },
  { route: "api/v1/jobs/[id]/kubernetes", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/jobs/${s.job}/kubernetes`, params: { id: s.job } }) },
  { route: "api/v1/jobs/[id]/code", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/jobs/${s.codeJob}/code`, params: { id: s.codeJob } }) },
  {
    // Members act on their own jobs, team leads on any job of the team (the job is the data scientist's).
    route: "api/v1/jobs/[id]/cancel", method: "POST", scope: "team", allow: (who, a) => who === "data_scientist" || can(a, "manage_team", s.churnId), ok: [200],
    request: async () => { const id = await trainJob(tokens.data_scientist!, { command: ["true"] }); return { path: `/api/v1/jobs/${id}/cancel`, params: { id } }; },
  },
  {
    route: "api/v1/jobs/[id]/retry", method: "POST", scope: "team", ok: [202],
    allow: (_who, a) => a.userId === s.finishedJobOwner || can(a, "manage_team", s.churnId),
    request: () => ({ path: `/api/v1/jobs/${s.finishedJob}/retry`, params: { id: s.finishedJob } }),
  },
  // Sweeps: read by the team; controlled by their user or a team lead (like jobs)
  { route: "api/v1/experiments/[id]/sweeps", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/experiments/${s.exp}/sweeps`, params: { id: s.exp } }) },
  { route: "api/v1/experiments/[id]/sweeps", method: "POST", scope: "team", permission: "train_model", ok: [201], request: () => ({ path: `/api/v1/experiments/${s.exp}/sweeps`, params: { id: s.exp }, body: SWEEP }) },
  { route: "api/v1/sweeps/[id]", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/sweeps/${s.sweep}`, params: { id: s.sweep } }) },
  ...(["pause", "resume", "stop"] as const).map((action): Entry => ({
    route: `api/v1/sweeps/[id]/${action}`, method: "POST", scope: "team", allow: (who, a) => who === "data_scientist" || can(a, "manage_team", s.churnId), ok: [200],
    request: async () => { const id = await newSweep(action === "resume" ? "paused" : "running"); return { path: `/api/v1/sweeps/${id}/${action}`, params: { id } }; },
  })),
  {
    route: "api/v1/sweeps/[id]/register-best", method: "POST", scope: "team", permission: "train_model", ok: [409], why: "no trial of the sweep has finished (no driver runs here)",
    request: () => ({ path: `/api/v1/sweeps/${s.sweep}/register-best`, params: { id: s.sweep }, body: { name: `inv-best-${next()}` } }),
  },
  { route: "api/v1/code-archives", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/code-archives" }) },
  {
    route: "api/v1/code-archives", method: "POST", scope: "team", permission: "train_model", ok: [201],
    request: () => ({ path: "/api/v1/code-archives?team=churn&filename=inv.zip", raw: new Uint8Array(zipOf([{ name: "train.py", data: "print('hi')\n" }])), contentType: "application/zip" }),
  },
  { route: "api/v1/code-archives/[id]", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/code-archives/${s.archive}`, params: { id: s.archive } }) },
  {
    // Its uploader (the data scientist) or a team lead; a fresh archive per call, since a delete consumes it.
    route: "api/v1/code-archives/[id]", method: "DELETE", scope: "team", allow: (who, a) => who === "data_scientist" || can(a, "manage_team", s.churnId), ok: [204],
    request: async () => { const id = await uploadArchive(); return { path: `/api/v1/code-archives/${id}`, params: { id } }; },
  },
  { route: "api/v1/instance-types", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/instance-types" }) },
  { route: "api/v1/cluster", method: "GET", scope: "platform", ok: [200], request: () => ({ path: "/api/v1/cluster" }) },
  { route: "api/v1/platform/health", method: "GET", scope: "platform", ok: [200], request: () => ({ path: "/api/v1/platform/health?window=15m" }) },
  { route: "api/v1/instance-types/[name]", method: "PUT", scope: "platform", ok: [200], request: () => ({ path: "/api/v1/instance-types/inv.small", params: { name: "inv.small" }, body: TYPE }) },
  {
    route: "api/v1/instance-types/[name]", method: "DELETE", scope: "platform", ok: [204],
    request: async () => {
      const name = `inv.${next()}`;
      await saveInstanceType(await ctxFor(db(), DEMO.admin), name, { ...TYPE, gpu_count: 0 });
      return { path: `/api/v1/instance-types/${name}`, params: { name } };
    },
  },
  // Models, deployments, approvals
  { route: "api/v1/models", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/models" }) },
  { route: "api/v1/models/[name]", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/models/${s.model}?team=churn`, params: { name: s.model } }) },
  {
    route: "api/v1/models/[name]/deploy", method: "POST", scope: "team", permission: "deploy_production", ok: [202],
    request: () => ({ path: `/api/v1/models/${s.model}/deploy`, params: { name: s.model }, body: { team: "churn", environment: "production", replicas: 1, auto_scale: false } }),
  },
  { route: "api/v1/deployments", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/deployments" }) },
  { route: "api/v1/deployments/[id]/kubernetes", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/deployments/${s.deployment}/kubernetes`, params: { id: s.deployment } }) },
  {
    route: "api/v1/deployments/[id]/model", method: "GET", scope: "public", ok: [401, 404],
    why: "only the deployment's own download token (in the Secret beside its Deployment on Kubernetes) opens its model; a user's credentials get 404, none 401",
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/model`, params: { id: s.deployment } }),
  },
  { route: "api/v1/deployments/[id]", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/deployments/${s.deployment}`, params: { id: s.deployment } }) },
  {
    route: "api/v1/deployments/[id]", method: "PATCH", scope: "team", permission: "deploy_staging", ok: [200],
    // One row for every caller: each would otherwise hold a slot of the team's deployment quota.
    request: async () => { const id = (scaledRow ??= await stagingRow()); return { path: `/api/v1/deployments/${id}`, params: { id }, body: { target_concurrency: 6 } }; },
  },
  {
    route: "api/v1/deployments/[id]", method: "DELETE", scope: "team", permission: "deploy_staging", ok: [204],
    request: async () => { const id = await stagingRow(); return { path: `/api/v1/deployments/${id}`, params: { id } }; },
  },
  { route: "api/v1/deployments/[id]/events", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/deployments/${s.deployment}/events`, params: { id: s.deployment } }) },
  { route: "api/v1/deployments/[id]/resources", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/deployments/${s.deployment}/resources`, params: { id: s.deployment } }) },
  {
    route: "api/v1/deployments/[id]/metrics", method: "GET", scope: "team", ok: [200], why: "no Prometheus in the test run: Cairn's own rollups answer",
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/metrics`, params: { id: s.deployment } }),
  },
  {
    route: "api/v1/deployments/[id]/rollback", method: "POST", scope: "team", permission: "deploy_staging", ok: [409], why: "the seeded staging deployment has no earlier version to roll back to",
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/rollback`, params: { id: s.deployment } }),
  },
  { route: "api/v1/deployments/[id]/split", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/deployments/${s.deployment}/split`, params: { id: s.deployment } }) },
  {
    route: "api/v1/deployments/[id]/split", method: "POST", scope: "team", permission: "deploy_staging", ok: [400], why: "version 999 does not exist (checked after access): a real split would hold the seeded deployment for the callers after the first",
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/split`, params: { id: s.deployment }, body: { version: 999, weight: 10 } }),
  },
  {
    route: "api/v1/deployments/[id]/split/promote", method: "POST", scope: "team", permission: "deploy_staging", ok: [409], why: "the seeded staging deployment has no active split",
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/split/promote`, params: { id: s.deployment } }),
  },
  {
    route: "api/v1/deployments/[id]/split/abort", method: "POST", scope: "team", permission: "deploy_staging", ok: [409], why: "the seeded staging deployment has no active split",
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/split/abort`, params: { id: s.deployment } }),
  },
  { route: "api/v1/deployments/[id]/drift", method: "GET", scope: "team", ok: [200], request: () => ({ path: `/api/v1/deployments/${s.deployment}/drift`, params: { id: s.deployment } }) },
  {
    route: "api/v1/deployments/[id]/sampling", method: "PUT", scope: "team", permission: "deploy_staging", ok: [200],
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/sampling`, params: { id: s.deployment }, body: { sample_rate: 0.1 } }),
  },
  {
    route: "api/v1/deployments/[id]/feedback", method: "POST", scope: "team", ok: [409], why: "the seeded staging deployment never had a split to label",
    request: () => ({ path: `/api/v1/deployments/${s.deployment}/feedback`, params: { id: s.deployment }, body: { request_id: "r-1", label: 1 } }),
  },
  { route: "api/v1/approvals", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/approvals" }) },
  { route: "api/v1/approvals/[id]", method: "GET", scope: "team", ok: [200], request: async () => { const id = await productionRequest(); return { path: `/api/v1/approvals/${id}`, params: { id } }; } },
  {
    // Requested by the ML engineer, who may not decide it.
    route: "api/v1/approvals/[id]/approve", method: "POST", scope: "team", permission: "approve_production", ok: [200],
    request: async () => { const id = await productionRequest(); return { path: `/api/v1/approvals/${id}/approve`, params: { id }, body: { comment: "ok" } }; },
  },
  {
    route: "api/v1/approvals/[id]/reject", method: "POST", scope: "team", permission: "approve_production", ok: [200],
    request: async () => { const id = await productionRequest(); return { path: `/api/v1/approvals/${id}/reject`, params: { id }, body: { comment: "no" } }; },
  },
  {
    route: "api/v1/approvals/[id]/cancel", method: "POST", scope: "team", allow: (who) => who === "ml_engineer", ok: [200],
    request: async () => { const id = await productionRequest(); return { path: `/api/v1/approvals/${id}/cancel`, params: { id } }; },
  },
  // Tenants, quotas, costs, audit
  { route: "api/v1/teams", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/teams" }) },
  { route: "api/v1/teams", method: "POST", scope: "platform", ok: [201], request: () => ({ path: "/api/v1/teams", body: { slug: `inv-${next()}`, name: "Inventory" } }) },
  { route: "api/v1/teams/[slug]", method: "GET", scope: "team", ok: [200], request: () => ({ path: "/api/v1/teams/churn", params: { slug: "churn" } }) },
  { route: "api/v1/teams/[slug]", method: "PATCH", scope: "team", permission: "manage_platform", ok: [200], request: () => ({ path: "/api/v1/teams/churn", params: { slug: "churn" }, body: { name: "Churn Prediction" } }) },
  { route: "api/v1/teams/[slug]/usage", method: "GET", scope: "team", ok: [200], request: () => ({ path: "/api/v1/teams/churn/usage", params: { slug: "churn" } }) },
  { route: "api/v1/teams/[slug]/quota", method: "PUT", scope: "team", permission: "manage_platform", ok: [200], request: () => ({ path: "/api/v1/teams/churn/quota", params: { slug: "churn" }, body: QUOTA }) },
  {
    route: "api/v1/teams/[slug]/budget-extensions", method: "POST", scope: "team", permission: "approve_production", ok: [201],
    request: () => ({ path: "/api/v1/teams/churn/budget-extensions", params: { slug: "churn" }, body: { amount_usd: 10, reason: "inventory" } }),
  },
  {
    route: "api/v1/teams/[slug]/members", method: "POST", scope: "team", permission: "manage_team", ok: [201],
    request: async () => { await noOutsider(); return { path: "/api/v1/teams/churn/members", params: { slug: "churn" }, body: { email: s.outsiderEmail, role: "data_scientist" } }; },
  },
  {
    route: "api/v1/teams/[slug]/members/[user_id]", method: "PATCH", scope: "team", permission: "manage_team", ok: [200],
    request: async () => { await outsiderMember(); return { path: `/api/v1/teams/churn/members/${s.outsider}`, params: { slug: "churn", user_id: s.outsider }, body: { role: "ml_engineer" } }; },
  },
  {
    route: "api/v1/teams/[slug]/members/[user_id]", method: "DELETE", scope: "team", permission: "manage_team", ok: [204],
    request: async () => { await outsiderMember(); return { path: `/api/v1/teams/churn/members/${s.outsider}`, params: { slug: "churn", user_id: s.outsider } }; },
  },
  // Alerts
  { route: "api/v1/alert-rules", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/alert-rules" }) },
  { route: "api/v1/alert-rules", method: "POST", scope: "team", permission: "write_data", ok: [201], request: () => ({ path: "/api/v1/alert-rules", body: { team: "churn", name: `Inv${next()}`, kind: "job_failures", threshold: 1 } }) },
  { route: "api/v1/alert-rules/prometheus", method: "GET", scope: "team", ok: [200], request: () => ({ path: "/api/v1/alert-rules/prometheus?team=churn" }) },
  { route: "api/v1/alert-rules/[id]", method: "GET", scope: "team", ok: [200], request: async () => { const id = await alertRule(); return { path: `/api/v1/alert-rules/${id}`, params: { id } }; } },
  { route: "api/v1/alert-rules/[id]", method: "DELETE", scope: "team", permission: "write_data", ok: [204], request: async () => { const id = await alertRule(); return { path: `/api/v1/alert-rules/${id}`, params: { id } }; } },
  {
    route: "api/v1/alert-rules/[id]/silence", method: "POST", scope: "team", permission: "write_data", ok: [200],
    request: async () => { const id = await alertRule(); return { path: `/api/v1/alert-rules/${id}/silence`, params: { id }, body: { until: new Date(Date.now() + 3_600_000).toISOString() } }; },
  },
  { route: "api/v1/alerts", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/alerts" }) },
  { route: "api/v1/alerts/[id]/acknowledge", method: "POST", scope: "team", permission: "write_data", ok: [200], request: async () => { const id = await firingAlert(); return { path: `/api/v1/alerts/${id}/acknowledge`, params: { id } }; } },
  { route: "api/v1/costs", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/costs" }) },
  { route: "api/v1/costs/allocation", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/costs/allocation?by=model_version" }) },
  { route: "api/v1/resource-prices", method: "GET", scope: "caller", ok: [200], request: () => ({ path: "/api/v1/resource-prices" }) },
  { route: "api/v1/resource-prices", method: "PUT", scope: "platform", ok: [200], request: () => ({ path: "/api/v1/resource-prices", body: { kind: "storage", unit_price_usd: 0.04 } }) },
  { route: "api/v1/audit", method: "GET", scope: "caller", permission: "manage_team", ok: [200], request: () => ({ path: "/api/v1/audit" }) },
  { route: "api/v1/audit/verify", method: "GET", scope: "caller", permission: "manage_team", ok: [200], request: () => ({ path: "/api/v1/audit/verify" }) },
  // MLflow-compatible API (one request per method; the same handlers serve /ajax-api)
  ...[mlflowPath, ajaxPath].flatMap((at): Entry[] => {
    const route = at === mlflowPath ? "api/2.0/mlflow/[...path]" : "ajax-api/2.0/mlflow/[...path]";
    return [
      { route, method: "GET", scope: "team", ok: [200], request: () => at(`experiments/get?experiment_id=${s.exp}`) },
      { route, method: "POST", scope: "team", permission: "train_model", ok: [200], request: () => ({ ...at("runs/set-tag"), body: { run_id: s.run, key: "inv", value: next() } }) },
      { route, method: "PATCH", scope: "team", permission: "train_model", ok: [200], unaddressed: MODEL_NAMES, request: () => ({ ...at("registered-models/update"), body: { name: s.model, description: "churn model" } }) },
      {
        route, method: "DELETE", scope: "team", permission: "write_data", ok: [200], unaddressed: MODEL_NAMES,
        request: async () => ({ ...at("registered-models/delete"), body: { name: await registeredModel() } }),
      },
    ];
  }),
  { route: "api/2.0/mlflow-artifacts/artifacts/[[...path]]", method: "GET", scope: "team", ok: [200], request: () => artifactPath(`${s.exp}/${s.run}/artifacts/inv.txt`) },
  {
    route: "api/2.0/mlflow-artifacts/artifacts/[[...path]]", method: "PUT", scope: "team", permission: "train_model", ok: [200],
    request: () => ({ ...artifactPath(`${s.exp}/${s.run}/artifacts/put-${next()}.txt`), raw: new TextEncoder().encode("x") }),
  },
  {
    route: "api/2.0/mlflow-artifacts/artifacts/[[...path]]", method: "DELETE", scope: "caller", ok: [400], why: "artifacts are not deleted one by one: DELETE is refused before any lookup",
    request: () => artifactPath(`${s.exp}/${s.run}/artifacts/inv.txt`),
  },
  // Inference gateway: a token of the deployment's team; no replica runs in this test.
  {
    route: "serve/[team]/[deployment]/[...path]", method: "GET", scope: "team", ok: [503], why: "no replica of the seeded deployment runs in tests",
    request: () => ({ path: `/serve/churn/${s.deployment}/v2/models/${s.model}`, params: { team: "churn", deployment: s.deployment, path: ["v2", "models", s.model] } }),
  },
  {
    route: "serve/[team]/[deployment]/[...path]", method: "POST", scope: "team", ok: [503], why: "no replica of the seeded deployment runs in tests",
    request: () => ({ path: `/serve/churn/${s.deployment}/invocations`, params: { team: "churn", deployment: s.deployment, path: ["invocations"] }, body: { inputs: [[1, 2, 3]] } }),
  },
];

let scaledRow: string | undefined;

/** A staging deployment row to stop (stopping ends its replicas: it has none). */
async function stagingRow(): Promise<string> {
  const [seed] = await db().select().from(deployments).where(eq(deployments.id, s.deployment));
  const { id: _id, ...rest } = seed!;
  const [row] = await db().insert(deployments).values({ ...rest, status: "ready" }).returning({ id: deployments.id });
  return row!.id;
}

/** Denied audit rows of `who`'s user so far (none for anonymous callers, who are refused before any lookup). */
async function deniedCount(who: Who): Promise<number> {
  const actor = actors[who];
  if (!actor?.userId) return 0;
  const [row] = await db().select({ n: count() }).from(auditEvents).where(and(eq(auditEvents.outcome, "denied"), eq(auditEvents.actor, `${actor.email} (token)`)));
  return row?.n ?? 0;
}

// ---- the test ------------------------------------------------------------------------------------------

const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
const APP = __dirname;

function routeFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return routeFiles(full);
    return name === "route.ts" ? [path.relative(APP, dir).split(path.sep).join("/")] : [];
  });
}

type Handler = (req: Request, ctx: { params: Promise<Record<string, string | string[]>> }) => Promise<Response>;
const modules = new Map<string, Record<string, unknown>>();
const load = async (route: string) => {
  if (!modules.has(route)) modules.set(route, (await import(/* @vite-ignore */ path.join(APP, route, "route.ts"))) as Record<string, unknown>);
  return modules.get(route)!;
};

beforeAll(async () => {
  useBackend(db(), heldBackend());
  for (const who of WHO) {
    if (who === "anonymous") continue;
    actors[who] = await actorFor(db(), EMAIL[who]);
    tokens[who] = await tokenFor(db(), EMAIL[who], who === "foreign" ? "fraud" : "churn");
  }
  const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  s.churnId = churn!.id;
  const [outsider] = await db().insert(users).values({ email: s.outsiderEmail, name: "Inventory Outsider" }).returning({ id: users.id });
  s.outsider = outsider!.id;
  const created = await post<{ experiment_id: string }>(tokens.data_scientist!, "experiments/create", { name: `inventory-${next()}` });
  s.exp = created.json.experiment_id;
  s.run = (await createRun(tokens.data_scientist!, s.exp)).run_id;
  const put = await artifacts(tokens.data_scientist!, "PUT", `${s.exp}/${s.run}/artifacts/inv.txt`, { body: "hello" });
  if (put.status !== 200) throw new Error(`artifact: ${put.status} ${put.text}`);
  s.job = await trainJob(tokens.data_scientist!, { command: ["true"] });
  s.codeJob = await trainJob(tokens.data_scientist!, { source: "examples/churn" });
  // A finished job of the data scientist's to retry: cancelled while it waits.
  s.finishedJob = await trainJob(tokens.data_scientist!, { command: ["true"] });
  await cancelJob(await ctxFor(db(), DEMO.ds), s.finishedJob);
  s.finishedJobOwner = actors.data_scientist!.userId!;
  // A servable model (an ONNX version) and a staging deployment row of it; no replica runs.
  s.model = `inv-model-${next()}`;
  await createModel(tokens.data_scientist!, s.model);
  const at = await newRun(tokens.data_scientist!, "inventory");
  await putRunFile(tokens.data_scientist!, at, "model/model.onnx", onnxModelBytes());
  await registerVersion(tokens.data_scientist!, s.model, at);
  const [version] = await db().select({ modelId: registeredModels.id, versionId: modelVersions.id }).from(registeredModels)
    .innerJoin(modelVersions, eq(modelVersions.modelId, registeredModels.id)).where(eq(registeredModels.name, s.model));
  const [staging] = await db().insert(deployments).values({
    teamId: s.churnId, modelId: version!.modelId, versionId: version!.versionId, modelName: s.model, version: 1, environment: "staging", status: "ready",
    replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, traffic: 100, backend: "local", origin: "route inventory", createdBy: actors.data_scientist!.userId, createdByEmail: DEMO.ds,
  }).returning({ id: deployments.id });
  s.deployment = staging!.id;
  s.archive = await uploadArchive();
  s.sweep = await newSweep();
});

/** A code archive of churn's, uploaded by the data scientist. */
async function uploadArchive(): Promise<string> {
  const { POST: upload } = await load("api/v1/code-archives");
  const res = await (upload as Handler)(new Request("http://localhost/api/v1/code-archives?team=churn&filename=inv.zip", {
    method: "POST", headers: { authorization: `Bearer ${tokens.data_scientist}`, "content-type": "application/zip" }, body: new Uint8Array(zipOf([{ name: "train.py", data: "print(1)\n" }])),
  }), { params: Promise.resolve({}) });
  return ((await res.json()) as { id: string }).id;
}

afterAll(async () => {
  await stopAllReplicas();
});

/** Whether a denied audit row of `who` came after `before` (within a second: the gateway audits after it answers). */
async function audited(who: Who, before: number): Promise<boolean> {
  for (let waited = 0; waited <= 1000; waited += 50) {
    if ((await deniedCount(who)) > before) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe("route inventory", () => {
  it("lists every route handler and method under app/", async () => {
    const missing: string[] = [];
    for (const route of routeFiles(APP)) {
      const mod = await load(route);
      for (const method of HTTP_METHODS.filter((m) => typeof mod[m] === "function")) {
        if (!ENTRIES.some((e) => e.route === route && e.method === method)) missing.push(`${method} /${route}`);
      }
    }
    expect(missing, "add these to the inventory in app/route-inventory.test.ts").toEqual([]);
  });

  it.each(ENTRIES.filter((e) => !e.external).map((e) => [`${e.method} /${e.route}`, e] as const))("%s answers each actor as the policy says", async (_label, entry) => {
    const handler = (await load(entry.route))[entry.method] as Handler;
    expect(handler, `${entry.method} is not exported by ${entry.route}`).toBeTypeOf("function");
    const wrong: string[] = [];
    for (const who of WHO) {
      const deniedBefore = await deniedCount(who);
      const res = await send(entry, who, handler);
      const want = expected(entry, who);
      // Every refusal of a signed-in caller (403, or 404 for another team's object) leaves an audit row.
      if ((want === 403 || (want === 404 && entry.scope === "team" && !entry.unaddressed)) && res.status === want && !(await audited(who, deniedBefore))) {
        wrong.push(`${who}: ${res.status} left no denied audit row`);
      }
      const good = want === undefined ? entry.ok.includes(res.status) : res.status === want;
      if (!good || res.status === 500) wrong.push(`${who}: ${res.status}, expected ${want ?? entry.ok.join("/")} — ${res.text}`);
    }
    expect(wrong).toEqual([]);
  });
});
