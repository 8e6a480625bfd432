// Hostile review (review-s): fraud trying to download churn's model from GET /api/v1/deployments/{id}/model.
// ATTACKS THAT HELD: every test passes (only the HMAC token of that one live deployment opens its file).
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployments } from "@/db/schema";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { GET as modelRoute } from "./route";
import { modelDownloadToken } from "@/server/compute/k8s-serving-manifest";
import { authSecret } from "@/server/env";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { stopAllReplicas } from "@/server/deployments/runtime";

const db = demoDatabase();
const tokens: Record<string, string> = {};

async function k8sDeployment(token: string, weights: number[]): Promise<{ id: string; sha: string }> {
  const model = unique("rv-model");
  await createModel(token, model);
  const run = await newRun(token, "rv-model");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 3, classes: 2, weights, bias: [0] })));
  await registerVersion(token, model, run);
  const res = await call(deployRoute, { method: "POST", token, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false }, params: { name: model }, path: `/api/v1/models/${model}/deploy` });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  const id = (res.json as { deployment_id: string }).deployment_id;
  const [row] = await db().update(deployments).set({ backend: "kubernetes" }).where(eq(deployments.id, id)).returning({ sha: deployments.modelSha256 });
  return { id, sha: row!.sha! };
}

const download = (id: string, authorization?: string) =>
  modelRoute(new Request(`http://localhost/api/v1/deployments/${id}/model`, { headers: authorization ? { authorization } : {} }), { params: Promise.resolve({ id }) });

let churn: { id: string; sha: string };
let fraud: { id: string; sha: string };

beforeAll(async () => {
  tokens.churn = await tokenFor(db(), DEMO.ds, "churn");
  tokens.fraud = await tokenFor(db(), DEMO.dsFraud, "fraud");
  tokens.admin = await tokenFor(db(), DEMO.admin, "churn").catch(() => "");
  churn = await k8sDeployment(tokens.churn, [1, 2, 3]);
  fraud = await k8sDeployment(tokens.fraud, [3, 2, 1]);
});

afterAll(async () => {
  await stopAllReplicas();
});

describe("ATTACK HELD: fraud downloading churn's model", () => {
  it("fraud's own valid download token, fraud's and churn's user tokens, an admin's token: all 404 on churn's deployment", async () => {
    const fraudDownload = modelDownloadToken(authSecret(), fraud.id, fraud.sha);
    expect((await download(fraud.id, `Bearer ${fraudDownload}`)).status).toBe(200);
    for (const t of [fraudDownload, tokens.fraud, tokens.churn, tokens.admin].filter(Boolean)) {
      const res = await download(churn.id, `Bearer ${t}`);
      expect(res.status).toBe(404);
      expect(await res.text()).not.toContain(churn.sha);
    }
  });

  it("tokens forged from what fraud can know (churn's id with fraud's sha, an empty key, the sha itself) are refused", async () => {
    const forged = [
      modelDownloadToken(authSecret(), churn.id, fraud.sha),
      modelDownloadToken("", churn.id, churn.sha),
      `cdm_${churn.sha}`,
      modelDownloadToken(authSecret(), fraud.id, churn.sha),
    ];
    for (const t of forged) expect((await download(churn.id, `Bearer ${t}`)).status).toBe(404);
    // (An upper-cased id finds the same row — the UUID check is case-insensitive — and a token signed for that
    // spelling opens it: harmless, signing needs the platform's secret; noted in the report.)
    // Header tricks: two tokens, token in a query string, Basic scheme.
    expect((await download(churn.id, `Bearer ${forged[0]} ${modelDownloadToken(authSecret(), churn.id, churn.sha)}`)).status).not.toBe(200);
    expect((await download(churn.id, `Basic ${Buffer.from(`x:${modelDownloadToken(authSecret(), churn.id, churn.sha)}`).toString("base64")}`)).status).not.toBe(200);
  });

  it("a token stops opening the file once its deployment failed or was stopped, and only while it is live", async () => {
    const token = modelDownloadToken(authSecret(), churn.id, churn.sha);
    await db().update(deployments).set({ status: "failed" }).where(eq(deployments.id, churn.id));
    expect((await download(churn.id, `Bearer ${token}`)).status).toBe(404);
    await db().update(deployments).set({ status: "ready" }).where(eq(deployments.id, churn.id));
    expect((await download(churn.id, `Bearer ${token}`)).status).toBe(200);
  });
});
