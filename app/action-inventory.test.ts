// The server-action inventory: every action exported by app/**/actions.ts is called for real, against a demo
// database, as a signed-out visitor, a member of another team and each role of team churn, and must answer
// as the policy table (server/auth/policy.ts) says — signed out 401, another team's object 404, a write the
// role does not allow in its own team 403 (what safeAction renders for a raw call), allowed ok — never an
// internal error. An action not listed here fails the test.
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { alerts, deployments, invitations, memberships, modelVersions, registeredModels, teams, users } from "@/db/schema";
import type { ActionResult } from "@/lib/action-result";
import { deployModelSchema } from "@/lib/schemas/deployments";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { createSweepSchema } from "@/lib/schemas/sweeps";
import { quotaSchema } from "@/lib/schemas/teams";
import { createAlertRule } from "@/server/alerts/service";
import type { Actor } from "@/server/auth/actor";
import type { Permission } from "@/server/auth/policy";
import { can } from "@/server/auth/policy";
import { startSession } from "@/server/auth/sessions";
import type { Ctx } from "@/server/context";
import type { ComputeBackend } from "@/server/compute/backend";
import { deployModel } from "@/server/approvals/deploy";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { cancelJob, getJob, submitJob } from "@/server/jobs/service";
import { createRun, post } from "@/server/mlflow/test-client";
import { setAlias } from "@/server/registry/aliases";
import { createModel, newRun, onnxModelBytes, putRunFile, registerVersion } from "@/server/registry/test-helpers";
import { controlSweep, createSweep } from "@/server/sweeps/service";
import { saveInstanceType } from "@/server/teams/instance-types";
import { createTeam } from "@/server/teams/service";
import { createInvitation } from "@/server/teams/invitations";
import { createToken } from "@/server/tokens/service";
import { saveView } from "@/server/tracking/views";
import { createExperiment } from "@/server/tracking/experiments";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { useBackend } from "@/server/workers/testing";

// What next.config's experimental.authInterrupts sets in a build, so forbidden()/unauthorized() throw their 403/401.
vi.hoisted(() => { process.env.__NEXT_EXPERIMENTAL_AUTH_INTERRUPTS = "true"; });
// The page context safeAction resolves: the test's current actor (null = signed out).
const session = vi.hoisted(() => ({ ctx: null as unknown }));
vi.mock("@/server/auth/session", () => ({
  TEAM_COOKIE: "cairn_team",
  getPageCtx: async () => session.ctx,
  getPageActor: async () => (session.ctx as { actor?: unknown } | null)?.actor ?? null,
  requirePageCtx: async () => session.ctx,
  currentTeamSlug: async () => undefined,
}));
vi.mock("next/cache", () => ({ revalidatePath: () => undefined, revalidateTag: () => undefined, refresh: () => undefined }));
vi.mock("next/headers", () => ({ cookies: async () => ({ set: () => undefined, get: () => undefined, delete: () => undefined }), headers: async () => new Headers() }));

const db = demoDatabase();

const WHO = ["anonymous", "foreign", "data_scientist", "ml_engineer", "team_lead", "admin"] as const;
type Who = (typeof WHO)[number];
const EMAIL: Record<Exclude<Who, "anonymous">, string> = {
  foreign: DEMO.leadFraud, data_scientist: DEMO.ds, ml_engineer: DEMO.mle, team_lead: DEMO.lead, admin: DEMO.admin,
};

/**
 * As in app/route-inventory.test.ts: `team` (an object of churn), `caller` (own scope), `platform` (admins),
 * `public` (anyone, signed out too — the input carries the credential, e.g. an invitation link's token).
 */
type Scope = "team" | "caller" | "platform" | "public";
type Entry = {
  file: string;
  action: string;
  scope: Scope;
  permission?: Permission;
  allow?: (who: Who, actor: Actor) => boolean;
  /** A personal object (a saved view, a token): other members get 404 too. */
  personal?: boolean;
  /** A public action that also needs a session: signed out it answers 401. */
  signedIn?: boolean;
  /** What an allowed caller gets (200 = `{ ok: true }`, else the error code's status), with the reason. */
  ok: number[];
  why?: string;
  input: (who: Who) => Promise<unknown> | unknown;
};

const s = { churnId: "", exp: "", run: "", deployment: "", model: "", outsider: "", outsiderEmail: `inventory-action-${Date.now()}@example.com`, seq: 0 };
const ctxs: Partial<Record<Who, Ctx>> = {};
const tokens: Partial<Record<Who, string>> = {};
const next = () => `${Date.now().toString(36)}${(s.seq++).toString(36)}`;
const as = (who: Who) => ctxs[who]!;

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

const STATUS: Record<string, number> = {
  invalid_input: 400, unauthenticated: 401, forbidden: 403, not_found: 404, conflict: 409, quota_exceeded: 409, budget_exceeded: 403, rate_limited: 429, upstream_unavailable: 502, internal: 500,
};

/** Calls the action as `who`; the answer as a status: 200 ok, an error code's status, or the HTTP fallback it threw. */
async function run(entry: Entry, who: Who, fn: (input: unknown) => Promise<ActionResult<unknown>>): Promise<{ status: number; detail: string }> {
  const input = await entry.input(who);
  session.ctx = who === "anonymous" ? null : ctxs[who];
  try {
    const result = await fn(input);
    return result.ok ? { status: 200, detail: "" } : { status: STATUS[result.code] ?? 500, detail: `${result.code}: ${result.error}` };
  } catch (err) {
    const digest = (err as { digest?: string }).digest ?? "";
    const m = /^NEXT_HTTP_ERROR_FALLBACK;(\d{3})$/.exec(digest);
    if (m) return { status: Number(m[1]), detail: digest };
    return { status: 500, detail: String(err) };
  } finally {
    session.ctx = null;
  }
}

function expected(entry: Entry, who: Who): number | undefined {
  if (entry.scope === "public") return who === "anonymous" && entry.signedIn ? 401 : undefined;
  if (who === "anonymous") return 401;
  const actor = ctxs[who]!.actor;
  const own = actor.memberships[0]?.teamId;
  switch (entry.scope) {
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

const productionRequest = async () =>
  ((await deployModel(as("ml_engineer"), s.model, deployModelSchema.parse({ team: "churn", environment: "production", replicas: 1, auto_scale: false }))) as { approval_request_id: string }).approval_request_id;
const dsJob = async () => (await submitJob(as("data_scientist"), s.exp, trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small" }))).job_id;
const SWEEP_SPEC = { space: [{ name: "lr", type: "uniform", low: 0.01, high: 0.1 }], objective: { metric: "val_loss", direction: "minimize" }, algorithm: "random", template: { command: ["true"], instance_type: "cpu.small" } };
const dsSweep = async (state: "running" | "paused") => {
  const sweep = await createSweep(as("data_scientist"), s.exp, createSweepSchema.parse(SWEEP_SPEC));
  if (state === "paused") await controlSweep(as("data_scientist"), sweep.sweep_id, "pause");
  return sweep.sweep_id;
};
const freshExperiment = async () => (await createExperiment(as("data_scientist"), { name: `inv-${next()}`, team: "churn" })).experiment_id;

/** A job_failures rule of churn, made by its lead. */
async function alertRule(): Promise<string> {
  return (await createAlertRule(await ctxFor(db(), DEMO.lead), { team: "churn", name: `Inv${next()}`, kind: "job_failures", threshold: 1 })).id;
}

/** A firing alert of a fresh churn rule (what the evaluator would have written). */
async function firingAlert(): Promise<string> {
  const [row] = await db().insert(alerts).values({ ruleId: await alertRule(), teamId: s.churnId, state: "firing", value: 2, threshold: 1, startedAt: new Date(), firedAt: new Date() }).returning({ id: alerts.id });
  return row!.id;
}

async function stagingRow(): Promise<string> {
  const [seed] = await db().select().from(deployments).where(eq(deployments.id, s.deployment));
  const { id: _id, ...rest } = seed!;
  const [row] = await db().insert(deployments).values({ ...rest, status: "ready" }).returning({ id: deployments.id });
  return row!.id;
}

async function outsiderMember(present: boolean): Promise<void> {
  await db().delete(memberships).where(and(eq(memberships.teamId, s.churnId), eq(memberships.userId, s.outsider)));
  if (present) await db().insert(memberships).values({ teamId: s.churnId, userId: s.outsider, role: "data_scientist" });
}

/**
 * An open invitation for `email` with a known token (rows made directly: the email may have an account), to
 * team vision, so accepting it changes no membership the other entries rely on.
 */
async function invitationFor(email: string): Promise<string> {
  const token = randomBytes(32).toString("base64url");
  const [vision] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "vision"));
  await db().insert(invitations).values({
    teamId: vision!.id, email, role: "data_scientist", tokenHash: createHash("sha256").update(token).digest("hex"), invitedByEmail: DEMO.lead, expiresAt: new Date(Date.now() + 86_400_000),
  });
  return token;
}

const QUOTA = { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 5000 };
const TYPE = { cpu: 2, memory_gib: 4, hourly_price_usd: 0.1 };
const M = "(portal)/(members)";

// ---- the inventory -------------------------------------------------------------------------------------

const ENTRIES: Entry[] = [
  { file: "(portal)", action: "switchTeam", scope: "team", ok: [200], input: () => "churn" },
  // Approvals (requested by the ML engineer, who may not decide them)
  // Alerts
  { file: `${M}/alerts`, action: "createAlertRuleAction", scope: "team", permission: "write_data", ok: [200], input: () => ({ team: "churn", name: `Inv${next()}`, kind: "job_failures", threshold: 1 }) },
  { file: `${M}/alerts`, action: "deleteAlertRuleAction", scope: "team", permission: "write_data", ok: [200], input: async () => ({ id: await alertRule() }) },
  { file: `${M}/alerts`, action: "silenceAlertRuleAction", scope: "team", permission: "write_data", ok: [200], input: async () => ({ id: await alertRule(), until: new Date(Date.now() + 3_600_000).toISOString() }) },
  { file: `${M}/alerts`, action: "acknowledgeAlertAction", scope: "team", permission: "write_data", ok: [200], input: async () => ({ id: await firingAlert() }) },
  { file: `${M}/approvals`, action: "decideApprovalAction", scope: "team", permission: "approve_production", ok: [200], input: async () => ({ id: await productionRequest(), decision: "reject", comment: "no" }) },
  { file: `${M}/approvals`, action: "withdrawApprovalAction", scope: "team", allow: (who) => who === "ml_engineer", ok: [200], input: async () => ({ id: await productionRequest() }) },
  { file: `${M}/approvals`, action: "requestProductionDeployAction", scope: "team", permission: "deploy_production", ok: [200], input: () => ({ team: "churn", name: s.model, version: 1, replicas: 1, note: "" }) },
  // Deployments
  { file: `${M}/deployments`, action: "stopDeploymentAction", scope: "team", permission: "deploy_staging", ok: [200], input: async () => ({ id: await stagingRow() }) },
  {
    file: `${M}/deployments`, action: "rollbackDeploymentAction", scope: "team", permission: "deploy_staging", ok: [409], why: "the deployment has no earlier version to roll back to",
    input: () => ({ id: s.deployment }),
  },
  {
    file: `${M}/deployments`, action: "startSplitAction", scope: "team", permission: "deploy_staging", ok: [400], why: "version 999 does not exist (checked after access): a real split would hold the deployment for the callers after the first",
    input: () => ({ id: s.deployment, version: 999, weight: 10, sticky: false, error_share_points: null, p99_ms: null, min_requests: 100 }),
  },
  { file: `${M}/deployments`, action: "promoteSplitAction", scope: "team", permission: "deploy_staging", ok: [409], why: "the deployment has no active split", input: () => ({ id: s.deployment }) },
  { file: `${M}/deployments`, action: "abortSplitAction", scope: "team", permission: "deploy_staging", ok: [409], why: "the deployment has no active split", input: () => ({ id: s.deployment }) },
  { file: `${M}/deployments`, action: "setSampleRateAction", scope: "team", permission: "deploy_staging", ok: [200], input: () => ({ id: s.deployment, sample_rate: 0.1 }) },
  { file: `${M}/deployments`, action: "tryDeploymentAction", scope: "team", ok: [200], input: () => ({ id: s.deployment, endpoint: "invocations", body: "{}" }) },
  {
    file: `${M}/deployments`, action: "deployVersionAction", scope: "team", permission: "deploy_staging", ok: [409], why: "the team's deployment quota is full (set in beforeAll), so no replica starts",
    input: () => ({ team: "churn", name: s.model, version: 1, replicas: 1 }),
  },
  // Experiments and runs
  { file: `${M}/experiments/(list)`, action: "createExperimentAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ name: `inv-${next()}`, team: "churn" }) },
  { file: `${M}/experiments/[id]`, action: "saveViewAction", scope: "team", ok: [200], input: () => ({ experimentId: s.exp, name: `view ${next()}`, state: { filter: "", order: "", cols: [] } }) },
  {
    // A saved view is its owner's (the data scientist's); admins have no right to other people's views either.
    file: `${M}/experiments/[id]`, action: "deleteViewAction", scope: "team", personal: true, allow: (who) => who === "data_scientist", ok: [200],
    input: async () => ({ experimentId: s.exp, id: (await saveView(as("data_scientist"), { experimentId: s.exp, name: `v ${next()}`, state: { filter: "", order: "", cols: [] } })).id }),
  },
  { file: `${M}/experiments/[id]`, action: "setExperimentLifecycleAction", scope: "team", permission: "write_data", ok: [200], input: async () => ({ experimentId: await freshExperiment(), stage: "deleted" }) },
  { file: `${M}/runs/[id]`, action: "saveNotesAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ target: s.run, text: `notes ${next()}` }) },
  { file: `${M}/runs/[id]`, action: "registerModelAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ runId: s.run, path: "model", name: `inv-reg-${next()}` }) },
  // Sweeps (like jobs: read by the team, controlled by their user or a team lead)
  { file: `${M}/sweeps`, action: "createSweepAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ experimentId: s.exp, spec: SWEEP_SPEC }) },
  ...(["pause", "resume", "stop"] as const).map((action): Entry => ({
    file: `${M}/sweeps`, action: "controlSweepAction", scope: "team", allow: (who, a) => who === "data_scientist" || can(a, "manage_team", s.churnId), ok: [200],
    input: async () => ({ id: await dsSweep(action === "resume" ? "paused" : "running"), action }),
  })),
  {
    file: `${M}/sweeps`, action: "registerBestTrialAction", scope: "team", permission: "train_model", ok: [409], why: "no trial of the sweep has finished (no driver runs here)",
    input: async () => ({ id: await dsSweep("running"), name: `inv-best-${next()}` }),
  },
  // Jobs (members act on their own jobs, team leads on any)
  { file: `${M}/jobs`, action: "previewJobAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ experimentId: s.exp, spec: { command: ["true"], instance_type: "cpu.small" } }) },
  { file: `${M}/jobs`, action: "submitJobAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ experimentId: s.exp, spec: { command: ["true"], instance_type: "cpu.small" } }) },
  { file: `${M}/jobs`, action: "cancelJobAction", scope: "team", allow: (who, a) => who === "data_scientist" || can(a, "manage_team", s.churnId), ok: [200], input: async () => ({ id: await dsJob() }) },
  {
    file: `${M}/jobs`, action: "retryJobAction", scope: "team", allow: (who, a) => who === "data_scientist" || can(a, "manage_team", s.churnId), ok: [200],
    input: async () => {
      // A finished job: cancelled, and settled once its (held) attempt reports the exit.
      const id = await dsJob();
      await cancelJob(as("data_scientist"), id);
      for (let i = 0; i < 100 && !["cancelled", "failed", "succeeded"].includes((await getJob(as("admin"), id)).status); i++) await new Promise((r) => setTimeout(r, 50));
      return { id };
    },
  },
  // Models
  { file: `${M}/models/[name]`, action: "describeModel", scope: "team", permission: "train_model", ok: [200], input: () => ({ target: { team: "churn", name: s.model }, text: "inventory" }) },
  { file: `${M}/models/[name]`, action: "describeVersion", scope: "team", permission: "train_model", ok: [200], input: () => ({ target: { team: "churn", name: s.model, version: 1 }, text: "inventory" }) },
  { file: `${M}/models/[name]`, action: "setAliasAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ team: "churn", name: s.model, alias: "inv", version: 1 }) },
  {
    file: `${M}/models/[name]`, action: "deleteAliasAction", scope: "team", permission: "train_model", ok: [200],
    input: async () => { await setAlias(as("admin"), { name: s.model, alias: "gone", version: 1, team: "churn" }); return { team: "churn", name: s.model, alias: "gone" }; },
  },
  { file: `${M}/models/[name]`, action: "setStageAction", scope: "team", permission: "train_model", ok: [200], input: () => ({ team: "churn", name: s.model, version: 1, stage: "Staging" }) },
  // Teams
  { file: `${M}/teams/[slug]`, action: "saveProtectedAliases", scope: "team", permission: "manage_team", ok: [200], input: () => ({ team: "churn", protected_aliases: ["production"] }) },
  { file: `${M}/teams/[slug]`, action: "addMemberAction", scope: "team", permission: "manage_team", ok: [200], input: async () => { await outsiderMember(false); return { team: "churn", email: s.outsiderEmail, role: "data_scientist" }; } },
  { file: `${M}/teams/[slug]`, action: "changeRoleAction", scope: "team", permission: "manage_team", ok: [200], input: async () => { await outsiderMember(true); return { team: "churn", user_id: s.outsider, role: "ml_engineer" }; } },
  { file: `${M}/teams/[slug]`, action: "removeMemberAction", scope: "team", permission: "manage_team", ok: [200], input: async () => { await outsiderMember(true); return { team: "churn", user_id: s.outsider }; } },
  {
    file: `${M}/teams/[slug]`, action: "revokeInvitationAction", scope: "team", permission: "manage_team", ok: [200],
    input: async () => ({ team: "churn", id: (await createInvitation(as("admin"), "churn", { email: `inv-invitee-${next()}@example.com`, role: "data_scientist" })).invitation.id }),
  },
  { file: `${M}/costs`, action: "grantBudgetExtensionAction", scope: "team", permission: "approve_production", ok: [200], input: () => ({ team: "churn", amount_usd: 5, reason: "inventory" }) },
  { file: `${M}/teams/[slug]`, action: "saveQuotaAction", scope: "team", permission: "manage_platform", ok: [200], input: () => ({ team: "churn", quota: { ...QUOTA, max_deployments: 1 } }) },
  // Admin, audit, tokens
  { file: "(portal)/admin", action: "createTeamAction", scope: "platform", ok: [200], input: () => ({ slug: `inv-${next()}`, name: "Inventory" }) },
  {
    // A new team nobody else belongs to: to everyone but admins it is another team's object (404).
    file: "(portal)/admin", action: "setTeamArchivedAction", scope: "team", allow: (who) => who === "admin", personal: true, ok: [200],
    input: async () => { const slug = `inv-${next()}`; await createTeam(as("admin"), { slug, name: "To archive" }); return { slug, archived: true }; },
  },
  {
    file: "(portal)/admin", action: "setUserActiveAction", scope: "platform", ok: [200],
    input: async () => ({ user_id: (await db().insert(users).values({ email: `inv-user-${next()}@example.com`, name: "To deactivate" }).returning({ id: users.id }))[0]!.id, active: false }),
  },
  { file: "(portal)/admin", action: "saveInstanceTypeAction", scope: "platform", ok: [200], input: () => ({ name: "inv.small", type: TYPE }) },
  {
    file: "(portal)/admin", action: "deleteInstanceTypeAction", scope: "platform", ok: [200],
    input: async () => { const name = `inv.${next()}`; await saveInstanceType(as("admin"), name, { ...TYPE, gpu_count: 0 }); return { name }; },
  },
  { file: "(portal)/admin", action: "saveResourcePriceAction", scope: "platform", ok: [200], input: () => ({ kind: "gpu", gpu_type: "nvidia-t4", unit_price_usd: 0.35 }) },
  // Invitation links (public: the token is the credential)
  {
    file: "invite/[token]", action: "acceptInvitationAction", scope: "public", ok: [200],
    input: async () => ({ token: await invitationFor(`inv-accept-${next()}@example.com`), name: "Invitee", password: "a-long-password" }),
  },
  {
    // Signed in as the invited email (single sign-on): joins; signed out: 401.
    file: "invite/[token]", action: "joinInvitationAction", scope: "public", signedIn: true, ok: [200],
    input: async (who) => ({ token: await invitationFor(who === "anonymous" ? `inv-nobody-${next()}@example.com` : EMAIL[who]) }),
  },
  { file: "(portal)/audit", action: "verifyAuditAction", scope: "caller", permission: "manage_team", ok: [200], input: () => undefined },
  { file: "(portal)/settings/tokens", action: "createTokenAction", scope: "team", ok: [200], input: () => ({ name: `inv ${next()}`, team: "churn", expires_in_days: 1 }) },
  {
    file: "(portal)/settings/tokens", action: "revokeTokenAction", scope: "team", personal: true, allow: (who) => who === "data_scientist" || who === "admin", ok: [200],
    input: async () => (await createToken(as("data_scientist"), { name: `inv ${next()}`, team: "churn", expires_in_days: 1 })).id,
  },
  // Settings → Security: each caller's own sessions and password (the actors act from a browser session).
  {
    file: "(portal)/settings/security", action: "changePasswordAction", scope: "caller", ok: [400],
    why: "the current password given is wrong: refused with its field, nothing changes (the demo passwords stay for the sign-in checks below)",
    input: () => ({ current_password: "not-the-password", new_password: "a-new-long-password", confirm_password: "a-new-long-password" }),
  },
  { file: "(portal)/settings/security", action: "endOtherSessionsAction", scope: "caller", ok: [200], input: () => ({}) },
  {
    file: "(portal)/settings/security", action: "endSessionAction", scope: "team", personal: true, allow: (who) => who === "data_scientist", ok: [200],
    input: async () => startSession(db(), ctxs.data_scientist!.actor.userId!),
  },
];

// ---- the test ------------------------------------------------------------------------------------------

const APP = __dirname;

function actionFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return actionFiles(full);
    return name === "actions.ts" ? [path.relative(APP, dir).split(path.sep).join("/")] : [];
  });
}

const load = async (file: string) => (await import(/* @vite-ignore */ path.join(APP, file, "actions.ts"))) as Record<string, unknown>;

beforeAll(async () => {
  useBackend(db(), heldBackend());
  for (const who of WHO) {
    if (who === "anonymous") continue;
    const ctx = await ctxFor(db(), EMAIL[who]);
    // As a page's actor: signed in through a browser session (Settings → Security acts on it).
    ctxs[who] = { ...ctx, actor: { ...ctx.actor, sessionId: await startSession(db(), ctx.actor.userId!) } as Actor };
    tokens[who] = await tokenFor(db(), EMAIL[who], who === "foreign" ? "fraud" : "churn");
  }
  const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  s.churnId = churn!.id;
  const [outsider] = await db().insert(users).values({ email: s.outsiderEmail, name: "Inventory Outsider" }).returning({ id: users.id });
  s.outsider = outsider!.id;
  s.exp = await freshExperiment();
  s.run = (await createRun(tokens.data_scientist!, s.exp)).run_id;
  await post(tokens.data_scientist!, "runs/set-tag", { run_id: s.run, key: "k", value: "v" });
  s.model = `inv-model-${next()}`;
  await createModel(tokens.data_scientist!, s.model);
  const at = await newRun(tokens.data_scientist!, "inventory");
  await putRunFile(tokens.data_scientist!, at, "model/model.onnx", onnxModelBytes());
  await registerVersion(tokens.data_scientist!, s.model, at);
  // registerModelAction registers the run's "model" folder: give the inventory's run one too.
  await putRunFile(tokens.data_scientist!, { exp: s.exp, run: s.run }, "model/model.onnx", onnxModelBytes());
  const [version] = await db().select({ modelId: registeredModels.id, versionId: modelVersions.id }).from(registeredModels)
    .innerJoin(modelVersions, eq(modelVersions.modelId, registeredModels.id)).where(eq(registeredModels.name, s.model));
  const [staging] = await db().insert(deployments).values({
    teamId: s.churnId, modelId: version!.modelId, versionId: version!.versionId, modelName: s.model, version: 1, environment: "staging", status: "ready",
    replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, traffic: 100, backend: "local", origin: "action inventory", createdBy: ctxs.data_scientist!.actor.userId, createdByEmail: DEMO.ds,
  }).returning({ id: deployments.id });
  s.deployment = staging!.id;
  // One deployment is the team's whole allowance: a staging deploy from the version page is refused (409) and starts nothing.
  const { setQuota } = await import("@/server/teams/admin");
  await setQuota(as("admin"), "churn", quotaSchema.parse({ ...QUOTA, max_deployments: 1 }));
});

afterAll(async () => {
  await stopAllReplicas();
});

/**
 * Actions anyone may call, signed in or not, by design (not safeAction: they take a posted form). Each is
 * checked below: a wrong input answers its message, never an error page or a 500.
 */
const PUBLIC = ["login: signInAction"];

describe("server action inventory", () => {
  it("lists every server action under app/", async () => {
    const missing: string[] = [];
    for (const file of actionFiles(APP)) {
      const mod = await load(file);
      for (const name of Object.keys(mod).filter((k) => typeof mod[k] === "function")) {
        if (!ENTRIES.some((e) => e.file === file && e.action === name) && !PUBLIC.includes(`${file}: ${name}`)) missing.push(`${file}/actions.ts: ${name}`);
      }
    }
    expect(missing, "add these to the inventory in app/action-inventory.test.ts").toEqual([]);
  });

  it.each(ENTRIES.map((e) => [`${e.file}: ${e.action}`, e] as const))("%s answers each actor as the policy says", async (_label, entry) => {
    const fn = (await load(entry.file))[entry.action] as (input: unknown) => Promise<ActionResult<unknown>>;
    expect(fn, `${entry.action} is not exported by ${entry.file}/actions.ts`).toBeTypeOf("function");
    const wrong: string[] = [];
    for (const who of WHO) {
      const res = await run(entry, who, fn);
      const want = expected(entry, who);
      const good = want === undefined ? entry.ok.includes(res.status) : res.status === want;
      if (!good || res.status === 500) wrong.push(`${who}: ${res.status}, expected ${want ?? entry.ok.join("/")} — ${res.detail}`);
    }
    expect(wrong).toEqual([]);
  });
});

describe("public server actions", () => {
  it("login: signInAction answers a refusal with its message for every caller, and signs in with a redirect", async () => {
    const { signInAction } = await import("@/app/login/actions");
    const form = (fields: Record<string, string>) => {
      const f = new FormData();
      for (const [k, v] of Object.entries(fields)) f.set(k, v);
      return f;
    };
    for (const who of WHO) {
      session.ctx = who === "anonymous" ? null : ctxs[who];
      expect(await signInAction({}, form({ email: DEMO.ds, password: "wrong", callbackUrl: "/" }))).toEqual({ error: "Wrong email or password.", email: DEMO.ds });
      expect(await signInAction({}, form({}))).toEqual({ error: "Enter your email and password.", email: "" });
      session.ctx = null;
    }
    // Success redirects (Next's redirect() throws its signal) to the callback path on this site only.
    const thrown = await signInAction({}, form({ email: DEMO.mle, password: "cairn-demo", callbackUrl: "https://evil.example/" })).catch((err: unknown) => err);
    expect((thrown as { digest?: string }).digest).toMatch(/^NEXT_REDIRECT;\w+;\/;/);
  });
});
