// Regressions of the hostile review of issue 13's changes: a deployment of another team answers exactly as a
// missing one (its team not revealed), NUL characters in addresses, queries and bodies answer 400 (not 500),
// racing writers cannot push the host past CAIRN_LOCAL_REPLICAS_MAX nor a team past its max_replicas, and
// raising production past what was approved needs a team lead.
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, deployments, teamQuotas, teams } from "@/db/schema";
import { GET as serveGet } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { PATCH as patchRoute } from "@/app/api/v1/deployments/[id]/route";
import { GET as listRoute } from "@/app/api/v1/deployments/route";
import { POST as experimentsRoute } from "@/app/api/v1/experiments/route";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { LIVE_DEPLOYMENT_STATUSES } from "@/db/schema";
import { post } from "@/server/mlflow/test-client";
import { POST as alertRulesRoute } from "@/app/api/v1/alert-rules/route";
import { POST as extensionsRoute } from "@/app/api/v1/teams/[slug]/budget-extensions/route";
import { GET as verifyRoute } from "@/app/api/v1/audit/verify/route";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion } from "@/server/registry/test-helpers";
import { call, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();
const NIL = "0f8e3a52-6d8b-4c55-9a51-31c1f0b2a7e9";
const MODEL = "review-13";

const serve = (token: string, team: string, second: string, path: string[]) =>
  call(serveGet as never, { token, params: { team, deployment: second, path }, path: `/serve/${team}/${second}/${path.join("/")}` });
const errorOf = (r: { json: unknown }) => (r.json as { error: string | { message: string } }).error;

let made: { prod: string; staging: string } | null = null;
/** A staging deployment (left "deploying": no replica is needed here) and a production row copied from it. */
async function twoDeployments(): Promise<{ prod: string; staging: string }> {
  if (made) return made;
  const ds = await tokenFor(db(), DEMO.ds, "churn");
  await createModel(ds, MODEL);
  const at = await newRun(ds, "review-13");
  await putRunFile(ds, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: [1, 2, 3, 4], bias: [0] })));
  await registerVersion(ds, MODEL, at);
  const res = await call(deployRoute as never, { method: "POST", token: ds, params: { name: MODEL }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  const staging = (res.json as { deployment_id: string }).deployment_id;
  const [row] = await db().select().from(deployments).where(eq(deployments.id, staging));
  const { id: _id, ...rest } = row!;
  const [p] = await db().insert(deployments).values({ ...rest, environment: "production", alias: "production", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1 }).returning({ id: deployments.id });
  made = { prod: p!.id, staging };
  return made;
}

describe("the gateway reveals nothing of another team's deployments", () => {
  it("a foreign token on its own team's address with another team's deployment id gets the missing answer, naming its own team", async () => {
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const { prod } = await twoDeployments();
    const real = await serve(fraud, "fraud", prod, ["v2", "health", "ready"]);
    const none = await serve(fraud, "fraud", NIL, ["v2", "health", "ready"]);
    expect([real.status, none.status]).toEqual([404, 404]);
    expect(errorOf(real)).toBe(`Deployment ${prod} was not found in team fraud.`);
    expect(errorOf(none)).toBe(`Deployment ${NIL} was not found in team fraud.`);
  });
});

describe("refused foreign tokens", () => {
  it("are audited once per token, method and target in a minute, however often they repeat", async () => {
    const fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const { staging } = await twoDeployments();
    for (let i = 0; i < 40; i++) expect((await serve(fraud, "churn", staging, ["v2", "health", "ready"])).status).toBe(404);
    const rows = async () => db().select({ id: auditEvents.id, details: auditEvents.details }).from(auditEvents)
      .where(and(eq(auditEvents.action, "deployment.infer"), eq(auditEvents.target, `deployment:churn/${staging}`), eq(auditEvents.outcome, "denied")));
    for (let i = 0; i < 50 && (await rows()).length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const written = await rows();
    expect(written).toHaveLength(1);
    expect(written[0]!.details).toMatchObject({ token_team: "fraud", repeats_within_s: 60 });
  });
});

describe("NUL characters answer 400, never 500", () => {
  it("in a gateway address, a v1 query, a v1 body and an MLflow body", async () => {
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    const gateway = await serve(ds, "churn", "a\u0000b", ["production", "v2", "health", "ready"]);
    expect(gateway.status).toBe(400);
    expect(errorOf(gateway)).toMatch(/NUL character/);
    for (const q of ["model=%00", "model=a%00b", "team=%00"]) {
      const r = await call(listRoute, { token: ds, path: `/api/v1/deployments?${q}` });
      expect(r.status, q).toBe(400);
      expect(JSON.stringify(r.json)).toMatch(/query string contains a NUL character/);
    }
    const body = await call(experimentsRoute, { method: "POST", token: ds, body: { name: "bad\u0000name", team: "churn" } });
    expect(body.status).toBe(400);
    expect(JSON.stringify(body.json)).toMatch(/request body contains a NUL character/);
    const mlflow = await post<{ error_code: string; message: string }>(ds, "experiments/create", { name: "bad\u0000name" });
    expect(mlflow.status).toBe(400);
    expect(mlflow.json).toMatchObject({ error_code: "INVALID_PARAMETER_VALUE", message: expect.stringMatching(/NUL character/) });
  });
});

describe("half a UTF-16 surrogate pair answers 400, and the audit chain still verifies", () => {
  it("in a v1 body that reaches a refusal's audit row, a v1 query, a jsonb field and an MLflow body", async () => {
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    const admin = await tokenFor(db(), DEMO.admin, "churn");
    // The review's plant: a foreign "team" written into a denied audit row, hashed as given, stored as U+FFFD.
    const rule = await call(alertRulesRoute, { method: "POST", token: ds, body: { team: "\ud800", name: "X", kind: "job_failures", threshold: 1 } });
    expect(rule.status).toBe(400);
    expect(JSON.stringify(rule.json)).toMatch(/half of a UTF-16 surrogate pair/);
    const q = await call(listRoute, { token: ds, path: "/api/v1/deployments?team=%ED%BF%BF" }); // a surrogate's UTF-8 bytes
    expect([400, 404]).toContain(q.status); // a URL cannot carry one (percent-decoding gives U+FFFD): never a 500
    const ext = await call(extensionsRoute, { method: "POST", token: admin, params: { slug: "churn" }, body: { amount_usd: 1, reason: "ab\ud800" } });
    expect(ext.status).toBe(400);
    const mlflow = await post<{ error_code: string; message: string }>(ds, "experiments/create", { name: "bad\udc00name" });
    expect(mlflow.status).toBe(400);
    const verify = await call(verifyRoute, { token: admin });
    expect(verify.status).toBe(200);
    expect(verify.json).toMatchObject({ ok: true });
  });
});

/** Sets churn's max_replicas; returns churn's id. */
async function churnMaxReplicas(n: number): Promise<string> {
  const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  await db().update(teamQuotas).set({ maxReplicas: n }).where(eq(teamQuotas.teamId, churn!.id));
  return churn!.id;
}

let racer: string | null = null;
/** A second staging deployment to race against. */
async function secondStaging(): Promise<string> {
  if (racer) return racer;
  const ds = await tokenFor(db(), DEMO.ds, "churn");
  const res = await call(deployRoute as never, { method: "POST", token: ds, params: { name: MODEL }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  racer = (res.json as { deployment_id: string }).deployment_id;
  return racer;
}

describe("replica counts", () => {
  it("racing PATCHes cannot push the host past CAIRN_LOCAL_REPLICAS_MAX (all writers count under one lock)", async () => {
    const { staging } = await twoDeployments();
    const other = await secondStaging();
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    // The host's cap is the bound here: churn's own replica quota is raised out of the way.
    await churnMaxReplicas(1000);
    try {
      for (let attempt = 0; attempt < 4; attempt++) {
        await db().update(deployments).set({ replicas: 1 }).where(inArray(deployments.id, [staging, other]));
        const answers = await Promise.all([staging, other].map((id) => call(patchRoute as never, { method: "PATCH", token: ds, params: { id }, body: { auto_scale: false, replicas: 20 } })));
        expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
        const live = await db().select({ replicas: deployments.replicas }).from(deployments).where(inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]));
        expect(live.reduce((n, d) => n + d.replicas, 0)).toBeLessThanOrEqual(32);
      }
    } finally {
      await db().update(deployments).set({ replicas: 1 }).where(inArray(deployments.id, [staging, other]));
      await churnMaxReplicas(20);
    }
  });

  it("racing PATCHes and a deploy cannot push a team past its max_replicas; the refusal says what to do", async () => {
    const { staging } = await twoDeployments();
    const other = await secondStaging();
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    const churnId = await churnMaxReplicas(20);
    const live = async () => (await db().select({ replicas: deployments.replicas }).from(deployments).where(and(eq(deployments.teamId, churnId), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))).reduce((n, d) => n + d.replicas, 0);
    const made: string[] = [];
    try {
      for (let attempt = 0; attempt < 3; attempt++) {
        await db().update(deployments).set({ replicas: 1 }).where(inArray(deployments.id, [staging, other]));
        // Room for 3 more replicas: each writer alone fits, any two together do not.
        const quota = (await live()) + 3;
        await churnMaxReplicas(quota);
        const answers = await Promise.all([
          ...[staging, other].map((id) => call(patchRoute as never, { method: "PATCH", token: ds, params: { id }, body: { auto_scale: false, replicas: 4 } })),
          call(deployRoute as never, { method: "POST", token: ds, params: { name: MODEL }, body: { version: 1, environment: "staging", replicas: 3, auto_scale: false } }),
        ]);
        expect(answers.map((a) => a.status).filter((s) => s !== 409)).toHaveLength(1);
        expect([200, 201]).toContain(answers.map((a) => a.status).find((s) => s !== 409));
        for (const refused of answers.filter((a) => a.status === 409)) {
          expect((refused.json as { error: { code: string; message: string } }).error).toMatchObject({
            code: "quota_exceeded", message: expect.stringMatching(/^Team churn runs \d+ of its \d+ replicas \(max_replicas\); 3 more do not fit\. .*ask an admin to raise max_replicas\.$/),
          });
        }
        const deployed = answers.find((a) => a.status === 201);
        if (deployed) made.push((deployed.json as { deployment_id: string }).deployment_id);
        expect(await live()).toBeLessThanOrEqual(quota);
        // A decrease is always allowed, even with the team at its quota.
        await churnMaxReplicas(0);
        const down = await call(patchRoute as never, { method: "PATCH", token: ds, params: { id: staging }, body: { auto_scale: false, replicas: 1 } });
        expect(down.status, JSON.stringify(down.json)).toBe(200);
      }
    } finally {
      await db().update(deployments).set({ status: "stopped" }).where(inArray(deployments.id, made));
      await db().update(deployments).set({ replicas: 1 }).where(inArray(deployments.id, [staging, other]));
      await churnMaxReplicas(20);
    }
  });

  it("raising production past what was approved needs a team lead; the ML engineer may lower it", async () => {
    const { prod } = await twoDeployments();
    const mle = await tokenFor(db(), DEMO.mle, "churn");
    const lead = await tokenFor(db(), DEMO.lead, "churn");
    const up = await call(patchRoute as never, { method: "PATCH", token: mle, params: { id: prod }, body: { auto_scale: false, replicas: 3 } });
    expect(up.status).toBe(403);
    expect(JSON.stringify(up.json)).toMatch(/Raising production past 1 replica \(what was approved\) needs a team lead of churn/);
    expect((await call(patchRoute as never, { method: "PATCH", token: lead, params: { id: prod }, body: { auto_scale: false, replicas: 3 } })).status).toBe(200);
    expect((await call(patchRoute as never, { method: "PATCH", token: mle, params: { id: prod }, body: { auto_scale: false, replicas: 2 } })).status).toBe(200);
    const [row] = await db().select({ replicas: deployments.replicas }).from(deployments).where(eq(deployments.id, prod));
    expect(row!.replicas).toBe(2);
  });
});
