// Tenant administration: members (team leads and admins), quotas (admins only), usage against quota,
// and Kubernetes-like semantics when a quota is lowered under running work.
import { and, desc, eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { DELETE as memberDELETE, PATCH as memberPATCH } from "@/app/api/v1/teams/[slug]/members/[user_id]/route";
import { POST as membersPOST } from "@/app/api/v1/teams/[slug]/members/route";
import { PUT as quotaPUT } from "@/app/api/v1/teams/[slug]/quota/route";
import { GET as usageGET } from "@/app/api/v1/teams/[slug]/usage/route";
import { GET as meGET } from "@/app/api/v1/me/route";
import { GET as teamGET, PATCH as teamPATCH } from "@/app/api/v1/teams/[slug]/route";
import { POST as teamsPOST } from "@/app/api/v1/teams/route";
import { apiTokens, auditEvents, deployments, jobs, registeredModels, teamQuotas, teams, users } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { quotaSchema } from "@/lib/schemas/teams";
import { cancelJob, getJob, previewJob, submitJob } from "@/server/jobs/service";
import { isFinal, waitForJob } from "@/server/jobs/testing/wait";
import { tick } from "@/server/workers/testing";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { createExperiment } from "@/server/tracking/experiments";
import { addMember, archiveTeam, changeRole, removeMember, setQuota, teamUsage } from "@/server/teams/admin";
import { getTeam } from "@/server/teams/service";
import { hashToken } from "@/server/tokens/service";
import { flushDenials } from "@/server/audit/denials";

const db = demoDatabase();
const QUOTA = { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 5000 };

/** Cancels the jobs and waits until none is active; a job still active after 20 s fails the test with its state. */
async function cancelAndSettle(ids: string[]): Promise<void> {
  const admin = await ctxFor(db(), DEMO.admin);
  for (const id of ids) await cancelJob(admin, id).catch(() => undefined);
  let left: { id: string; status: string; ref: string | null; cancel: number; message: string | null }[] = [];
  for (let i = 0; i < 400; i++) {
    left = await db().select({ id: jobs.id, status: jobs.status, ref: jobs.backendRef, cancel: jobs.cancelRequested, message: jobs.message }).from(jobs)
      .where(and(inArray(jobs.id, ids), inArray(jobs.status, ["queued", "admitted", "running"])));
    if (left.length === 0) return;
    // A job whose cancel did not take (it raced a change of state) is cancelled again.
    for (const j of left) if (!j.cancel) await cancelJob(admin, j.id).catch(() => undefined);
    await tick(db());
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`jobs still active after cancelling: ${JSON.stringify(left)}`);
}

afterAll(async () => {
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  await cancelAndSettle(active.map((j) => j.id));
});

describe("members", () => {
  it("a team lead adds by email, changes the role and removes; removal is effective on the next request", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    // An account of their own (made by accepting an invitation or by single sign-on).
    await db().insert(users).values({ email: "new.person@example.com", name: "New Person" });
    const added = await addMember(lead, "churn", { email: "New.Person@Example.com".toLowerCase(), role: "data_scientist" });
    expect(added).toMatchObject({ email: "new.person@example.com", role: "data_scientist" });
    await expect(addMember(lead, "churn", { email: "new.person@example.com", role: "ml_engineer" })).rejects.toMatchObject({ code: "conflict" });
    expect((await changeRole(lead, "churn", added.user_id, "ml_engineer")).role).toBe("ml_engineer");
    const token = await tokenFor(db(), "new.person@example.com", "churn");
    expect((await call(meGET, { token })).status).toBe(200);
    const member = await ctxFor(db(), "new.person@example.com");
    expect((await getTeam(member, "churn")).slug).toBe("churn");
    await removeMember(lead, "churn", added.user_id);
    // Their next request: a fresh actor (as every request builds one) sees nothing; their token is dead.
    await expect(getTeam(await ctxFor(db(), "new.person@example.com"), "churn")).rejects.toMatchObject({ code: "not_found" });
    expect((await call(meGET, { token })).status).toBe(401);
    await flushDenials(db());
    const audit = await db().select({ action: auditEvents.action }).from(auditEvents)
      .where(and(eq(auditEvents.target, "user:new.person@example.com"), eq(auditEvents.outcome, "allowed"), eq(auditEvents.team, "churn")));
    expect(audit.map((a) => a.action)).toEqual(["member.add", "member.role", "member.remove"]);
  });

  it("a removed member's tokens stay revoked when they are added back, and the revocation is audited", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    const admin = await ctxFor(db(), DEMO.admin);
    await db().insert(users).values({ email: "returning@example.com", name: "Returning" });
    await addMember(admin, "fraud", { email: "returning@example.com", role: "data_scientist" });
    const member = await addMember(lead, "churn", { email: "returning@example.com", role: "data_scientist" });
    const churnToken = await tokenFor(db(), "returning@example.com", "churn");
    const fraudToken = await tokenFor(db(), "returning@example.com", "fraud");
    expect((await call(meGET, { token: churnToken })).status).toBe(200);
    await removeMember(lead, "churn", member.user_id);
    const [row] = await db().select({ id: apiTokens.id, revokedAt: apiTokens.revokedAt }).from(apiTokens).where(eq(apiTokens.tokenHash, hashToken(churnToken)));
    expect(row!.revokedAt).not.toBeNull();
    await addMember(lead, "churn", { email: "returning@example.com", role: "data_scientist" });
    const again = await call(meGET, { token: churnToken });
    expect(again.status).toBe(401);
    expect(again.json).toMatchObject({ error: { message: expect.stringContaining("revoked") } });
    // Only that team's tokens: the member's token for another team still works.
    expect((await call(meGET, { token: fraudToken })).status).toBe(200);
    await flushDenials(db());
    const [revokeAudit] = await db().select({ details: auditEvents.details, actor: auditEvents.actor }).from(auditEvents)
      .where(and(eq(auditEvents.action, "token.revoke"), eq(auditEvents.target, `token:${row!.id}`)));
    expect(revokeAudit).toMatchObject({ actor: DEMO.lead, details: { reason: "member_removed", user: "returning@example.com" } });
  });

  it("an email without an account is invited (202 with a one-time link), never given a passwordless account — by leads and admins alike", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    await expect(addMember(lead, "churn", { email: "stranger@example.com", role: "data_scientist" }))
      .rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("invite them") });
    for (const [who, email] of [[DEMO.lead, "stranger2@example.com"], [DEMO.admin, "stranger3@example.com"]] as const) {
      const viaRoute = await call(membersPOST, { method: "POST", token: await tokenFor(db(), who, "churn"), params: { slug: "churn" }, headers: { host: "cairn.example.com" }, body: { email, role: "data_scientist" } });
      expect(viaRoute.status).toBe(202);
      expect(viaRoute.json).toMatchObject({ invitation: { email, role: "data_scientist", invited_by: who }, invite_url: expect.stringMatching(/^http:\/\/cairn\.example\.com\/invite\/[\w-]{43}$/) });
    }
    const created = await db().select({ id: users.id }).from(users).where(inArray(users.email, ["stranger@example.com", "stranger2@example.com", "stranger3@example.com"]));
    expect(created).toEqual([]);
    // A known email is still added at once (201, the membership).
    const known = await call(membersPOST, { method: "POST", token: await tokenFor(db(), DEMO.lead, "churn"), params: { slug: "churn" }, body: { email: DEMO.dsFraud, role: "data_scientist" } });
    expect(known.status).toBe(201);
    expect(known.json).toMatchObject({ email: DEMO.dsFraud, role: "data_scientist" });
    await removeMember(lead, "churn", (known.json as { user_id: string }).user_id);
  });

  it("keeps the last team lead", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    const me = (await getTeam(lead, "churn")).members.find((m) => m.email === DEMO.lead)!;
    await expect(changeRole(lead, "churn", me.user_id, "ml_engineer")).rejects.toThrow("last team lead");
    await expect(removeMember(lead, "churn", me.user_id)).rejects.toThrow("last team lead");
  });

  it("refuses data scientists, other teams' leads — and raw route calls — with nothing changed", async () => {
    const team = await getTeam(await ctxFor(db(), DEMO.admin), "churn");
    const ds = team.members.find((m) => m.email === DEMO.ds)!;
    await expect(addMember(await ctxFor(db(), DEMO.ds), "churn", { email: "x@example.com", role: "team_lead" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(addMember(await ctxFor(db(), DEMO.leadFraud), "churn", { email: "x@example.com", role: "team_lead" })).rejects.toMatchObject({ code: "not_found" });
    const dsToken = await tokenFor(db(), DEMO.ds, "churn");
    expect((await call(membersPOST, { method: "POST", token: dsToken, params: { slug: "churn" }, body: { email: "x@example.com", role: "team_lead" } })).status).toBe(403);
    expect((await call(memberPATCH, { method: "PATCH", token: dsToken, params: { slug: "churn", user_id: ds.user_id }, body: { role: "team_lead" } })).status).toBe(403);
    expect((await call(memberDELETE, { method: "DELETE", token: dsToken, params: { slug: "churn", user_id: ds.user_id } })).status).toBe(403);
    const after = await getTeam(await ctxFor(db(), DEMO.admin), "churn");
    expect(after.members).toEqual(team.members);
  });
});

describe("quotas", () => {
  it("only admins change quotas; leads and data scientists are refused, also through the route", async () => {
    await expect(setQuota(await ctxFor(db(), DEMO.lead), "churn", quotaSchema.parse({ ...QUOTA, gpus: 100 }))).rejects.toMatchObject({ code: "forbidden" });
    const leadToken = await tokenFor(db(), DEMO.lead, "churn");
    expect((await call(quotaPUT, { method: "PUT", token: leadToken, params: { slug: "churn" }, body: { ...QUOTA, gpus: 100 } })).status).toBe(403);
    const adminToken = await tokenFor(db(), DEMO.admin, "churn");
    const ok = await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, gpus: 8, gpus_by_type: { "nvidia-t4": 2, "nvidia-a100": 4 } } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ gpus: 8, gpus_by_type: { "nvidia-t4": 2, "nvidia-a100": 4 } });
    const bad = await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, gpus: 2, gpus_by_type: { "nvidia-a100": 4 } } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toContain("more than the total gpus");
    const unknown = await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, namespace: "kube-system" } });
    expect(unknown.status).toBe(400);
    // Limit ranges: per-container bounds and a default request, checked for consistency.
    const limits = { min: { cpu: 0.25 }, max: { cpu: 16, memory_gib: 64 }, default_request: { cpu: 1, memory_gib: 2 } };
    const withLimits = await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, limit_range: limits } });
    expect(withLimits.status).toBe(200);
    expect(withLimits.json).toMatchObject({ limit_range: limits });
    const inverted = await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, limit_range: { min: { cpu: 8 }, max: { cpu: 4 } } } });
    expect(inverted.status).toBe(400);
    expect(JSON.stringify(inverted.json)).toContain("min cpu (8) is more than max cpu (4)");
    const outside = await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, limit_range: { max: { memory_gib: 4 }, default_request: { memory_gib: 8 } } } });
    expect(outside.status).toBe(400);
    expect(JSON.stringify(outside.json)).toContain("default_request memory_gib (8) is above max memory_gib (4)");
    const stray = await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, limit_range: { max: { gpus: 1 } } } });
    expect(stray.status).toBe(400);
    expect((await call(teamGET, { token: adminToken, params: { slug: "churn" } })).json).toMatchObject({ quota: { limit_range: limits } });
    await call(quotaPUT, { method: "PUT", token: adminToken, params: { slug: "churn" }, body: { ...QUOTA, limit_range: null } });
    await flushDenials(db());
    const audit = await db().select({ action: auditEvents.action, outcome: auditEvents.outcome }).from(auditEvents).where(eq(auditEvents.action, "quota.update"));
    expect(audit.map((a) => a.outcome)).toEqual(expect.arrayContaining(["denied", "allowed"]));
  });

  it("max_replicas: set by admins, kept when a PUT leaves it out, refused when bad with nothing changed, counted in usage", async () => {
    const adminToken = await tokenFor(db(), DEMO.admin, "churn");
    const put = (slug: string, body: Record<string, unknown>, token = adminToken) => call(quotaPUT, { method: "PUT", token, params: { slug }, body });
    const churnQuota = async () => (await call(teamGET, { token: adminToken, params: { slug: "churn" } })).json as { quota: { max_replicas: number; gpus: number } };
    // The demo teams start with 20; a new team with the default, 10.
    expect((await churnQuota()).quota.max_replicas).toBe(20);
    expect((await call(teamsPOST, { method: "POST", token: adminToken, body: { slug: "replicas-new", name: "Replicas" } })).json).toMatchObject({ quota: { max_replicas: 10 } });

    const set = await put("churn", { ...QUOTA, max_replicas: 7 });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ max_replicas: 7 });
    // A client from before max_replicas leaves it out: the team keeps its value.
    const older = await put("churn", { ...QUOTA, gpus: 6 });
    expect(older.status).toBe(200);
    expect(older.json).toMatchObject({ gpus: 6, max_replicas: 7 });
    await flushDenials(db());
    const [audit] = await db().select({ details: auditEvents.details }).from(auditEvents).where(and(eq(auditEvents.action, "quota.update"), eq(auditEvents.outcome, "allowed"))).orderBy(desc(auditEvents.at)).limit(1);
    expect(audit?.details).toMatchObject({ before: { max_replicas: 7, gpus: 8 }, after: { max_replicas: 7, gpus: 6 } });

    for (const [bad, says] of [[-1, "max_replicas cannot be negative"], [2.5, "max_replicas must be a whole number"], [100_001, "max_replicas can be at most 100000"], ["12", "max_replicas must be a whole number"], [null, "max_replicas must be a whole number"]] as const) {
      const res = await put("churn", { ...QUOTA, max_replicas: bad });
      expect(res.status, String(bad)).toBe(400);
      expect(JSON.stringify(res.json), String(bad)).toContain(says);
    }
    // Another team's lead, the team's own lead: refused, nothing changed.
    expect((await put("churn", { ...QUOTA, max_replicas: 100 }, await tokenFor(db(), DEMO.leadFraud, "fraud"))).status).toBe(404);
    expect((await put("churn", { ...QUOTA, max_replicas: 100 }, await tokenFor(db(), DEMO.lead, "churn"))).status).toBe(403);
    expect((await churnQuota()).quota).toMatchObject({ max_replicas: 7, gpus: 6 });

    // A team without a quota row gets the default when a PUT leaves max_replicas out.
    const [fresh] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "replicas-new"));
    await db().delete(teamQuotas).where(eq(teamQuotas.teamId, fresh!.id));
    expect((await put("replicas-new", QUOTA)).json).toMatchObject({ max_replicas: 10 });

    // Usage counts the replicas of the team's live deployments (a record here; nothing needs to serve).
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const [model] = await db().insert(registeredModels).values({ teamId: churn!.id, name: `usage-${Date.now()}`, creationTime: Date.now(), lastUpdatedTime: Date.now() }).returning({ id: registeredModels.id });
    const someVersion = { modelId: model!.id };
    const before = (await teamUsage(await ctxFor(db(), DEMO.ds), "churn")).used.max_replicas;
    const rows = await db().insert(deployments).values([
      { teamId: churn!.id, modelId: someVersion!.modelId, modelName: "usage", version: 1, environment: "staging", status: "ready", replicas: 3, autoScale: false, minReplicas: 3, maxReplicas: 3, createdByEmail: "test" },
      { teamId: churn!.id, modelId: someVersion!.modelId, modelName: "usage", version: 1, environment: "staging", status: "stopped", replicas: 5, autoScale: false, minReplicas: 5, maxReplicas: 5, createdByEmail: "test" },
    ]).returning({ id: deployments.id });
    try {
      const usage = await call(usageGET, { token: await tokenFor(db(), DEMO.ds, "churn"), params: { slug: "churn" } });
      expect(usage.json).toMatchObject({ quota: { max_replicas: 7 }, used: { max_replicas: before + 3 } });
    } finally {
      await db().delete(deployments).where(inArray(deployments.id, rows.map((r) => r.id)));
      await setQuota(await ctxFor(db(), DEMO.admin), "churn", quotaSchema.parse({ ...QUOTA, max_replicas: 20 }));
    }
  });

  it("the GPU split narrows admission by type", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    await setQuota(admin, "churn", quotaSchema.parse({ ...QUOTA, gpus: 8, gpus_by_type: { "nvidia-t4": 1 } }));
    const ds = await ctxFor(db(), DEMO.ds);
    const { experiment_id: exp } = await createExperiment(ds, { name: `split-${Date.now()}`, team: "churn" });
    await expect(submitJob(ds, exp, trainJobSchema.parse({ instance_type: "gpu.large", gpus: 1, command: ["sleep", "30"] }))).rejects.toThrow("the job needs 1 nvidia-a100 GPU; team churn's quota allows 0 of that type");
    const first = await submitJob(ds, exp, trainJobSchema.parse({ instance_type: "gpu.small", command: ["sleep", "30"] }));
    await tick(db());
    // The launch preview counts the GPU split as admission does.
    expect(await previewJob(ds, exp, trainJobSchema.parse({ instance_type: "gpu.small", command: ["sleep", "30"] }))).toMatchObject({
      outcome: "queues", reason: "waiting for 1 nvidia-t4 GPU: team churn uses 1 of 1",
    });
    const second = await submitJob(ds, exp, trainJobSchema.parse({ instance_type: "gpu.small", command: ["sleep", "30"] }));
    await tick(db());
    expect((await getJob(ds, first.job_id)).status).not.toBe("queued");
    expect(await getJob(ds, second.job_id)).toMatchObject({ status: "queued", queue_reason: "waiting for 1 nvidia-t4 GPU: team churn uses 1 of 1" });
    await cancelAndSettle([first.job_id, second.job_id]);
    await setQuota(admin, "churn", quotaSchema.parse(QUOTA));
  });

  it("lowering a quota below use stops no running work; new work waits until usage falls; usage shows it all", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const ds = await ctxFor(db(), DEMO.ds);
    const { experiment_id: exp } = await createExperiment(ds, { name: `lower-${Date.now()}`, team: "churn" });
    const running = await submitJob(ds, exp, trainJobSchema.parse({ resources: { cpu: 8, memory_gib: 8 }, command: ["sleep", "30"] }));
    await waitForJob(db(), running.job_id, (j) => j.status === "running", { every: 25 });
    await setQuota(admin, "churn", quotaSchema.parse({ ...QUOTA, cpu: 4 }));
    await tick(db());
    expect((await getJob(ds, running.job_id)).status).toBe("running");
    const waiting = await submitJob(ds, exp, trainJobSchema.parse({ resources: { cpu: 2, memory_gib: 2 }, command: ["true"] }));
    await tick(db());
    expect(await getJob(ds, waiting.job_id)).toMatchObject({ status: "queued", queue_reason: "waiting for 2 CPU: team churn uses 8 of 4" });
    const usage = await call(usageGET, { token: await tokenFor(db(), DEMO.ds, "churn"), params: { slug: "churn" } });
    expect(usage.status).toBe(200);
    expect(usage.json).toMatchObject({
      quota: { cpu: 4 }, used: { cpu: 8, max_concurrent_jobs: 1 },
      top: [expect.objectContaining({ id: running.job_id, cpu: 8 })],
      queued_jobs: [expect.objectContaining({ job_id: waiting.job_id, queue_reason: "waiting for 2 CPU: team churn uses 8 of 4" })],
    });
    expect((await call(usageGET, { token: await tokenFor(db(), DEMO.dsFraud, "fraud"), params: { slug: "churn" } })).status).toBe(404);
    await cancelAndSettle([running.job_id]);
    for (let i = 0; i < 100 && (await getJob(ds, waiting.job_id)).status === "queued"; i++) {
      await setQuota(admin, "churn", quotaSchema.parse({ ...QUOTA, cpu: 4 }));
      await new Promise((r) => setTimeout(r, 50));
      await tick(db());
    }
    expect((await getJob(ds, waiting.job_id)).status).not.toBe("queued");
    // It ends before the next test, which allows the team one job at a time.
    await waitForJob(db(), waiting.job_id, isFinal, { every: 25 });
    await setQuota(admin, "churn", quotaSchema.parse(QUOTA));
    expect((await teamUsage(admin, "churn")).quota?.cpu).toBe(64);
  });
});

describe("limit ranges in admission", () => {
  it("per-container bounds refuse at submit (and in the preview), the default request fills in, and a queued job a new range forbids fails without touching running work", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const ds = await ctxFor(db(), DEMO.ds);
    const limit_range = { min: { cpu: 1 }, max: { cpu: 4, memory_gib: 16 }, default_request: { cpu: 2, memory_gib: 4 } };
    await setQuota(admin, "churn", quotaSchema.parse({ ...QUOTA, max_concurrent_jobs: 1, limit_range }));
    const { experiment_id: exp } = await createExperiment(ds, { name: `limits-${Date.now()}`, team: "churn" });
    const count = async () => (await db().select({ id: jobs.id }).from(jobs)).length;
    const before = await count();
    await expect(submitJob(ds, exp, trainJobSchema.parse({ resources: { cpu: 8, memory_gib: 8 }, command: ["true"] })))
      .rejects.toMatchObject({ code: "quota_exceeded", message: expect.stringContaining("team churn's limit range allows at most 4 CPU per container") });
    await expect(submitJob(ds, exp, trainJobSchema.parse({ resources: { cpu: 0.5, memory_gib: 1 }, command: ["true"] })))
      .rejects.toMatchObject({ message: expect.stringContaining("requires at least 1 CPU per container") });
    await expect(submitJob(ds, exp, trainJobSchema.parse({ instance_type: "gpu.large", command: ["true"] })))
      .rejects.toMatchObject({ message: expect.stringContaining("allows at most 4 CPU per container") });
    expect(await count()).toBe(before);
    expect(await previewJob(ds, exp, trainJobSchema.parse({ resources: { cpu: 8, memory_gib: 8 }, command: ["true"] }))).toMatchObject({ outcome: "refused", reason: expect.stringContaining("limit range") });

    // No resources named: the default request.
    const running = await submitJob(ds, exp, trainJobSchema.parse({ command: ["sleep", "30"] }));
    expect(running.resources).toMatchObject({ cpu: 2, memory_gib: 4, instance_type: null });
    await waitForJob(db(), running.job_id, (j) => j.status === "running", { every: 25 });
    const waiting = await submitJob(ds, exp, trainJobSchema.parse({ resources: { cpu: 3, memory_gib: 4 }, command: ["true"] }));
    await tick(db());
    expect((await getJob(ds, waiting.job_id)).status).toBe("queued");
    // One more, as if admission had passed it just before the change (admitted, not yet started).
    const admitted = await submitJob(ds, exp, trainJobSchema.parse({ resources: { cpu: 3, memory_gib: 4 }, command: ["true"] }));
    await db().update(jobs).set({ status: "admitted", admittedAt: new Date() }).where(eq(jobs.id, admitted.job_id));
    // The admin narrows the range: the 3-CPU jobs can never start now; the running one goes on.
    await setQuota(admin, "churn", quotaSchema.parse({ ...QUOTA, max_concurrent_jobs: 1, limit_range: { max: { cpu: 2 } } }));
    await tick(db());
    expect(await getJob(ds, waiting.job_id)).toMatchObject({ status: "failed", message: expect.stringContaining("limit range allows at most 2 CPU per container") });
    expect(await getJob(ds, admitted.job_id)).toMatchObject({ status: "failed", message: expect.stringContaining("changed after it was admitted") });
    expect((await getJob(ds, running.job_id)).status).toBe("running");
    await cancelAndSettle([running.job_id]);
    await setQuota(admin, "churn", quotaSchema.parse(QUOTA));
  });
});

describe("renaming and archiving teams", () => {
  it("admins rename, archive (members and tokens lose access) and restore; others are refused", async () => {
    const adminToken = await tokenFor(db(), DEMO.admin, "churn");
    expect((await call(teamsPOST, { method: "POST", token: adminToken, body: { slug: "arch", name: "Archive me" } })).status).toBe(201);
    const admin = await ctxFor(db(), DEMO.admin);
    await db().insert(users).values({ email: "arch.member@example.com", name: "Arch Member" });
    const member = await addMember(admin, "arch", { email: "arch.member@example.com", role: "team_lead" });
    const memberToken = await tokenFor(db(), member.email, "arch");
    const leadToken = await tokenFor(db(), member.email, "arch");
    expect((await call(teamPATCH, { method: "PATCH", token: leadToken, params: { slug: "arch" }, body: { name: "Mine now" } })).status).toBe(403);
    const renamed = await call(teamPATCH, { method: "PATCH", token: adminToken, params: { slug: "arch" }, body: { name: "Archived team" } });
    expect(renamed.json).toMatchObject({ slug: "arch", name: "Archived team", namespace: "cairn-arch" });
    expect((await call(teamPATCH, { method: "PATCH", token: adminToken, params: { slug: "arch" }, body: { archived: true } })).status).toBe(200);
    expect((await call(teamGET, { token: adminToken, params: { slug: "arch" } })).status).toBe(404);
    expect((await call(meGET, { token: memberToken })).status).toBe(401);
    expect((await call(teamPATCH, { method: "PATCH", token: adminToken, params: { slug: "arch" }, body: { archived: false } })).status).toBe(200);
    expect((await call(teamGET, { token: adminToken, params: { slug: "arch" } })).json).toMatchObject({ name: "Archived team", members: [expect.objectContaining({ email: member.email })] });
    expect((await call(meGET, { token: memberToken })).status).toBe(200);
    await flushDenials(db());
    const actions = (await db().select({ action: auditEvents.action }).from(auditEvents).where(eq(auditEvents.target, "team:arch"))).map((a) => a.action);
    expect(actions).toEqual(expect.arrayContaining(["team.create", "team.rename", "team.archive", "team.restore"]));
  });

  it("refuses to archive a team with work queued or running", async () => {
    const ds = await ctxFor(db(), DEMO.ds);
    const { experiment_id: exp } = await createExperiment(ds, { name: `busy-${Date.now()}`, team: "churn" });
    const job = await submitJob(ds, exp, trainJobSchema.parse({ instance_type: "cpu.small", command: ["sleep", "30"] }));
    await expect(archiveTeam(await ctxFor(db(), DEMO.admin), "churn")).rejects.toThrow("cancel them before archiving");
    await cancelAndSettle([job.job_id]);
  });
});
