// Approved means pinned (issue 12, "unapproved bytes reach production"): a version's files are pinned when
// it is registered, the approval's evidence carries their digest, and every deploy serves only bytes with
// the pinned hash. The review's attack — a data scientist overwrites model.onnx after the production
// request — is replayed here through the artifact API and must never reach a replica.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { approvalRequests, auditEvents, deployments, modelVersions, registeredModels, teamQuotas, teams } from "@/db/schema";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { GET as modelRoute } from "@/app/api/v1/models/[name]/route";
import { GET as approvalRoute } from "@/app/api/v1/approvals/[id]/route";
import { POST as approveRoute } from "@/app/api/v1/approvals/[id]/approve/route";
import { GET as deploymentRoute } from "@/app/api/v1/deployments/[id]/route";
import { POST as servePost } from "@/app/serve/[team]/[deployment]/[...path]/route";
import type { ApprovalDetail } from "@/server/approvals/service";
import { deploymentDir, deploymentRuntime, stopAllReplicas } from "@/server/deployments/runtime";
import type { DeploymentDto } from "@/server/deployments/service";
import { artifacts, get } from "@/server/mlflow/test-client";
import { artifactStore } from "@/server/tracking/artifacts";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { pinRoot, pinnedDir } from "@/server/registry/pins";
import type { ModelVersionDto } from "@/server/registry/test-helpers";
import { createModel, createVersion, newRun, putRunFile, registerVersion, unique, versionsOf } from "@/server/registry/test-helpers";
import { pinnedVersionBytes, teamStoredBytes } from "@/server/artifacts/usage";
import type { RunAt } from "@/server/registry/test-helpers";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { settleDeployments } from "@/server/workers/testing";

const db = demoDatabase({ routeCache: true });
let ds = "";
let mle = "";
let lead = "";
let dsFraud = "";
let leadFraud = "";

// What was registered, and what the data scientist swaps in afterwards: both real, servable models.
const REGISTERED = [1, -1, 0.5];
const ATTACKER = [-40, 40, -40];
const onnx = (weights: number[]) => new Uint8Array(linearClassifierOnnx({ features: 3, classes: 2, weights, bias: [0] }));
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const positive = (weights: number[], row: number[]) => 1 / (1 + Math.exp(-row.reduce((a, x, i) => a + x * weights[i]!, 0)));

async function onnxRun(token: string, weights = REGISTERED): Promise<RunAt> {
  const at = await newRun(token, "pin");
  await putRunFile(token, at, "model/model.onnx", onnx(weights));
  await putRunFile(token, at, "model/MLmodel", "flavors:\n  onnx:\n    onnx_version: 1.16.0\n    data: model.onnx\n");
  return at;
}

const deploy = (token: string, name: string, body: Record<string, unknown>) =>
  call(deployRoute, { method: "POST", token, params: { name }, body: { replicas: 1, auto_scale: false, ...body } });

async function settledDeployment(id: string): Promise<typeof deployments.$inferSelect> {
  await settleDeployments(db());
  const [row] = await db().select().from(deployments).where(eq(deployments.id, id));
  return row!;
}

const versionRow = async (name: string, version: number) =>
  (await db().select({ v: modelVersions }).from(modelVersions).innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(registeredModels.name, name), eq(modelVersions.version, version))))[0]!.v;

beforeAll(async () => {
  [ds, mle, lead, dsFraud, leadFraud] = await Promise.all([
    tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.lead, "churn"),
    tokenFor(db(), DEMO.dsFraud, "fraud"), tokenFor(db(), DEMO.leadFraud, "fraud"),
  ]);
});

afterAll(async () => {
  await stopAllReplicas();
});

describe("the review's attack: model.onnx overwritten after the production request", () => {
  it("approving serves the registered bytes, never the data scientist's", async () => {
    const model = unique("pin-attack");
    await createModel(ds, model);
    const at = await onnxRun(ds);
    const v1 = await registerVersion(ds, model, at);
    const requested = await deploy(mle, model, { version: 1, environment: "production" });
    expect(requested.status, JSON.stringify(requested.json)).toBe(202);
    const requestId = (requested.json as { approval_request_id: string }).approval_request_id;
    const evidence = ((await call(approvalRoute, { token: lead, params: { id: requestId } })).json as ApprovalDetail).evidence;
    expect(evidence.candidate.content_digest).toBe(v1.content_digest);

    // The data scientist (train rights only) tries to replace the model through MLflow's artifact API: the
    // registered files are frozen where they were logged (get-download-uri answers that location).
    const refused = await artifacts(ds, "PUT", `${at.exp}/${at.run}/artifacts/model/model.onnx`, { body: onnx(ATTACKER) });
    expect(refused.status).toBe(400);
    expect(refused.text).toContain(`belongs to registered model ${model} version 1`);
    // Bytes changed behind the API's back (the store itself) still never reach a replica: the pin serves.
    const teamSlug = "churn";
    await artifactStore().put([teamSlug, at.exp, at.run], "model/model.onnx", (async function* () { yield onnx(ATTACKER); })(), { maxBytes: 1 << 20 });

    const approved = await call(approveRoute, { method: "POST", token: lead, params: { id: requestId }, body: { comment: "ok" } });
    expect(approved.status, JSON.stringify(approved.json)).toBe(200);
    const deploymentId = (approved.json as ApprovalDetail).deployment_id!;
    const d = await settledDeployment(deploymentId);
    expect(d).toMatchObject({ status: "ready", contentDigest: v1.content_digest, modelSha256: sha256(onnx(REGISTERED)) });
    const served = readFileSync(path.join(deploymentDir(deploymentId), "model.onnx"));
    expect(sha256(served)).toBe(sha256(onnx(REGISTERED)));
    expect(sha256(served)).not.toBe(sha256(onnx(ATTACKER)));
    // And the replica answers with the registered weights.
    const row = [1, 0, 0];
    const inv = await call(servePost as never, {
      method: "POST", token: mle, params: { team: "churn", deployment: deploymentId, path: ["invocations"] }, path: `/serve/churn/${deploymentId}/invocations`,
      body: { inputs: [row] },
    });
    expect(inv.status, JSON.stringify(inv.json)).toBe(200);
    expect((inv.json as { predictions: number[][] }).predictions[0]![1]).toBeCloseTo(positive(REGISTERED, row), 5);
  });

  it("every write is on the audit trail (who, which path, bytes, SHA-256, overwrite), and so is a refused one", async () => {
    const at = await onnxRun(ds);
    await putRunFile(ds, at, "model/model.onnx", onnx(ATTACKER));
    const model = unique("pin-audit");
    await createModel(ds, model);
    await registerVersion(ds, model, at);
    const after = await artifacts(ds, "PUT", `${at.exp}/${at.run}/artifacts/model/model.onnx`, { body: onnx(REGISTERED) });
    expect(after.status).toBe(400);
    const writes = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "artifact.write"), eq(auditEvents.target, `run:${at.run}`))).orderBy(auditEvents.id);
    const onnxWrites = writes.filter((w) => (w.details as { path: string }).path === "model/model.onnx").map((w) => ({ actor: w.actor, team: w.team, outcome: w.outcome, details: w.details }));
    expect(onnxWrites).toEqual([
      { actor: `${DEMO.ds} (token)`, team: "churn", outcome: "allowed", details: { experiment_id: at.exp, path: "model/model.onnx", bytes: onnx(REGISTERED).byteLength, sha256: sha256(onnx(REGISTERED)), overwrite: false } },
      { actor: `${DEMO.ds} (token)`, team: "churn", outcome: "allowed", details: { experiment_id: at.exp, path: "model/model.onnx", bytes: onnx(ATTACKER).byteLength, sha256: sha256(onnx(ATTACKER)), overwrite: true } },
      { actor: `${DEMO.ds} (token)`, team: "churn", outcome: "denied", details: { path: "model/model.onnx", registered_as: `${model} v1` } },
    ]);
  });
});

describe("a version's digest", () => {
  let model = "";
  let at: RunAt;
  let v1: ModelVersionDto;

  beforeAll(async () => {
    model = unique("pin-digest");
    await createModel(ds, model);
    at = await onnxRun(ds);
    v1 = await registerVersion(ds, model, at);
  });

  it("is a SHA-256 over the version's files, the same for the same files", async () => {
    expect(v1.content_digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const twin = await registerVersion(ds, model, await onnxRun(ds));
    expect(twin.content_digest).toBe(v1.content_digest);
    const other = await registerVersion(ds, model, await onnxRun(ds, [3, 2, 1]));
    expect(other.content_digest).not.toBe(v1.content_digest);
    const row = await versionRow(model, 1);
    expect(row.contentManifest).toEqual([
      { path: "MLmodel", size: expect.any(Number), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      { path: "model.onnx", size: onnx(REGISTERED).byteLength, sha256: sha256(onnx(REGISTERED)) },
    ]);
  });

  it("changes nothing when the run's artifacts change: digest, pinned copy and what a deploy serves stay", async () => {
    // The artifact API refuses writes under a registered location; change the files in the store itself.
    const bytes = (b: Uint8Array | string) => (async function* () { yield typeof b === "string" ? new TextEncoder().encode(b) : b; })();
    await artifactStore().put(["churn", at.exp, at.run], "model/model.onnx", bytes(onnx(ATTACKER)), { maxBytes: 1 << 20 });
    await artifactStore().put(["churn", at.exp, at.run], "model/extra.bin", bytes("more"), { maxBytes: 1 << 20 });
    const again = await get<{ model_version: ModelVersionDto }>(ds, "model-versions/get", { name: model, version: "1" });
    expect(again.json.model_version.content_digest).toBe(v1.content_digest);
    expect(sha256(readFileSync(path.join(pinnedDir(), ...pinRoot((await versionRow(model, 1)).id), "model.onnx")))).toBe(sha256(onnx(REGISTERED)));
    const staged = await deploy(ds, model, { version: 1, environment: "staging" });
    expect(staged.status, JSON.stringify(staged.json)).toBe(201);
    const id = (staged.json as { deployment_id: string }).deployment_id;
    expect(await settledDeployment(id)).toMatchObject({ status: "ready", modelSha256: sha256(onnx(REGISTERED)) });
    expect(sha256(readFileSync(path.join(deploymentDir(id), "model.onnx")))).toBe(sha256(onnx(REGISTERED)));
    // A new registration from the same run pins what the run holds now: a different digest.
    const later = await registerVersion(ds, model, at);
    expect(later.content_digest).not.toBe(v1.content_digest);
  });

  it("is shown on the model's API answer; another team's actor sees 404, not the digest", async () => {
    const own = await call(modelRoute, { token: ds, params: { name: model } });
    expect((own.json as { versions: { version: number; content_digest: string }[] }).versions.find((v) => v.version === 1)?.content_digest).toBe(v1.content_digest);
    for (const token of [dsFraud, leadFraud]) {
      const theirs = await call(modelRoute, { token, params: { name: model }, path: `/api/v1/models/${model}?team=churn` });
      expect(theirs.status).toBe(404);
      expect(JSON.stringify(theirs.json)).not.toContain(v1.content_digest!.slice(7));
      const mlflowGet = await get(token, "model-versions/get", { name: model, version: "1" });
      expect(mlflowGet.status).toBe(404);
      expect(mlflowGet.text).not.toContain(v1.content_digest!.slice(7));
    }
  });
});

describe("deploys serve only bytes with the pinned hash", () => {
  it("a tampered pinned copy fails the deployment with a message naming the mismatch, and nothing serves", async () => {
    const model = unique("pin-tamper");
    await createModel(ds, model);
    await registerVersion(ds, model, await onnxRun(ds));
    const row = await versionRow(model, 1);
    writeFileSync(path.join(pinnedDir(), ...pinRoot(row.id), "model.onnx"), onnx(ATTACKER));
    const staged = await deploy(ds, model, { version: 1, environment: "staging" });
    expect(staged.status).toBe(201);
    const id = (staged.json as { deployment_id: string }).deployment_id;
    const d = await settledDeployment(id);
    expect(d.status).toBe("failed");
    expect(d.message).toContain(`does not match the SHA-256 pinned for version 1 of ${model} (pinned ${sha256(onnx(REGISTERED))}, found ${sha256(onnx(ATTACKER))})`);
    expect(deploymentRuntime().pick(id)).toBeNull();
    expect(existsSync(path.join(deploymentDir(id), "model.onnx"))).toBe(false);
  });

  it("a deployment's own copy is checked again whenever it is brought up (a restart)", async () => {
    const model = unique("pin-restart");
    await createModel(ds, model);
    await registerVersion(ds, model, await onnxRun(ds));
    const staged = await deploy(ds, model, { version: 1, environment: "staging" });
    const id = (staged.json as { deployment_id: string }).deployment_id;
    expect((await settledDeployment(id)).status).toBe("ready");
    // Swapped on disk while it serves; the server restarts (replicas do not outlive it) and brings it up again.
    writeFileSync(path.join(deploymentDir(id), "model.onnx"), onnx(ATTACKER));
    await stopAllReplicas();
    deploymentRuntime().bringUp(db(), id);
    const d = await settledDeployment(id);
    expect(d).toMatchObject({ status: "failed", message: expect.stringContaining("The deployment's copy of model.onnx does not match the SHA-256 pinned") });
    expect(deploymentRuntime().pick(id)).toBeNull();
    const shown = (await call(deploymentRoute, { token: ds, params: { id } })).json as DeploymentDto;
    expect(shown).toMatchObject({ status: "failed", content_digest: (await versionRow(model, 1)).contentDigest });
  });

  it("approving refuses a version whose digest is not the one in the request's evidence (409), and deploys nothing", async () => {
    const model = unique("pin-conflict");
    await createModel(ds, model);
    await registerVersion(ds, model, await onnxRun(ds));
    const requested = await deploy(mle, model, { version: 1, environment: "production" });
    const requestId = (requested.json as { approval_request_id: string }).approval_request_id;
    const row = await versionRow(model, 1);
    // Only direct database access can change a version's digest; the approval still notices.
    await db().update(modelVersions).set({ contentDigest: `sha256:${"0".repeat(64)}` }).where(eq(modelVersions.id, row.id));
    const res = await call(approveRoute, { method: "POST", token: lead, params: { id: requestId }, body: {} });
    expect(res.status).toBe(409);
    expect(JSON.stringify(res.json)).toContain(`no longer has the content digest this deploy was decided on (decided on ${row.contentDigest}`);
    expect(await db().select().from(deployments).where(eq(deployments.modelId, row.modelId))).toEqual([]);
    const [request] = await db().select({ status: approvalRequests.status }).from(approvalRequests).where(eq(approvalRequests.id, requestId));
    expect(request!.status).toBe("pending");
  });

  it("a deployment made before pinning keeps serving the copy it held; that copy's hash is recorded and checked from then on", async () => {
    const model = unique("pin-old-deploy");
    await createModel(ds, model);
    await registerVersion(ds, model, await onnxRun(ds));
    const staged = await deploy(ds, model, { version: 1, environment: "staging" });
    const id = (staged.json as { deployment_id: string }).deployment_id;
    expect((await settledDeployment(id)).status).toBe("ready");
    await stopAllReplicas();
    await db().update(deployments).set({ modelSha256: null, contentDigest: null }).where(eq(deployments.id, id));
    deploymentRuntime().bringUp(db(), id);
    expect(await settledDeployment(id)).toMatchObject({ status: "ready", modelSha256: sha256(onnx(REGISTERED)) });
    await stopAllReplicas();
    writeFileSync(path.join(deploymentDir(id), "model.onnx"), onnx(ATTACKER));
    deploymentRuntime().bringUp(db(), id);
    expect((await settledDeployment(id)).status).toBe("failed");
  });

  it("a version registered before pinning (no digest) is not deployed, with what to do", async () => {
    const model = unique("pin-legacy");
    await createModel(ds, model);
    await registerVersion(ds, model, await onnxRun(ds));
    await db().update(modelVersions).set({ contentDigest: null, contentManifest: null }).where(eq(modelVersions.id, (await versionRow(model, 1)).id));
    const res = await deploy(ds, model, { version: 1, environment: "staging" });
    expect(res.status).toBe(400);
    expect(JSON.stringify(res.json)).toMatch(/registered before Cairn pinned versions' files.*register it again from its run/);
  });
});

describe("pinned copies and the storage quota", () => {
  it("count against the team's storage quota: a registration that does not fit is refused and keeps nothing", async () => {
    const [team] = await db().select({ id: teams.id, slug: teams.slug }).from(teams).where(eq(teams.slug, "churn"));
    const model = unique("pin-quota");
    await createModel(ds, model);
    const at = await onnxRun(ds);
    const before = await pinnedVersionBytes(db(), team!.id);
    await registerVersion(ds, model, at);
    const size = (await versionRow(model, 1)).contentManifest!.reduce((sum, f) => sum + f.size, 0);
    expect(await pinnedVersionBytes(db(), team!.id)).toBe(before + size);
    // Room for half a copy more: the next registration of the same files does not fit.
    const used = await teamStoredBytes(db(), artifactStore(), team!, { fresh: true });
    const [quota] = await db().select({ storageGib: teamQuotas.storageGib }).from(teamQuotas).where(eq(teamQuotas.teamId, team!.id));
    await db().update(teamQuotas).set({ storageGib: (used + size / 2) / 2 ** 30 }).where(eq(teamQuotas.teamId, team!.id));
    try {
      const pinsBefore = readdirSync(pinnedDir()).length;
      const refused = await createVersion(ds, { name: model, source: `runs:/${at.run}/model`, run_id: at.run });
      expect(refused.status).toBe(429);
      expect(refused.text).toContain("RESOURCE_EXHAUSTED");
      expect(refused.text).toContain("registered versions' pinned copies");
      expect(await versionsOf(ds, model)).toEqual(["1"]);
      expect(readdirSync(pinnedDir()).length).toBe(pinsBefore);
    } finally {
      await db().update(teamQuotas).set({ storageGib: quota?.storageGib ?? null }).where(eq(teamQuotas.teamId, team!.id));
    }
  });
});
