// GET /api/v1/deployments/{id}/model: what a deployment's pods download on Kubernetes. Only the token of that
// live deployment opens it (an HMAC of the deployment and its pinned hash), and the bytes are the pinned ones.
import { createHash } from "node:crypto";
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
let ds = "";
let bytes: Uint8Array<ArrayBuffer>;
let id = "";
let other = "";
let sha = "";

/** A deployment of a fresh ONNX version, recorded as made for Kubernetes (as a Cairn on that backend writes it). */
async function kubernetesDeployment(): Promise<string> {
  const model = unique("k8s-model");
  await createModel(ds, model);
  const run = await newRun(ds, "k8s-model");
  await putRunFile(ds, run, "model/model.onnx", bytes);
  await registerVersion(ds, model, run);
  const res = await call(deployRoute, { method: "POST", token: ds, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false }, params: { name: model }, path: `/api/v1/models/${model}/deploy` });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  const deploymentId = (res.json as { deployment_id: string }).deployment_id;
  await db().update(deployments).set({ backend: "kubernetes" }).where(eq(deployments.id, deploymentId));
  return deploymentId;
}

const download = (deploymentId: string, token?: string) =>
  call(modelRoute as never, { params: { id: deploymentId }, path: `/api/v1/deployments/${deploymentId}/model`, ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });

beforeAll(async () => {
  ds = await tokenFor(db(), DEMO.ds, "churn");
  bytes = new Uint8Array(linearClassifierOnnx({ features: 3, classes: 2, weights: [1, 2, 3], bias: [0] }));
  id = await kubernetesDeployment();
  other = await kubernetesDeployment();
  const [row] = await db().select({ sha: deployments.modelSha256 }).from(deployments).where(eq(deployments.id, id));
  sha = row!.sha!;
});

afterAll(async () => {
  await stopAllReplicas();
});

describe("a deployment's model download", () => {
  it("gives the deployment's token the pinned bytes", async () => {
    const res = await modelRoute(new Request(`http://localhost/api/v1/deployments/${id}/model`, { headers: { authorization: `Bearer ${modelDownloadToken(authSecret(), id, sha)}` } }), { params: Promise.resolve({ id }) });
    expect(res.status).toBe(200);
    const got = new Uint8Array(await res.arrayBuffer());
    expect(createHash("sha256").update(got).digest("hex")).toBe(sha);
    expect(Buffer.from(got).equals(Buffer.from(bytes))).toBe(true);
    expect(res.headers.get("x-cairn-sha256")).toBe(sha);
  });

  it("asks for a token without one, and answers 404 to any other token, a user's included", async () => {
    expect((await download(id)).status).toBe(401);
    const [o] = await db().select({ sha: deployments.modelSha256 }).from(deployments).where(eq(deployments.id, other));
    for (const token of [modelDownloadToken(authSecret(), other, o!.sha!), modelDownloadToken("another-secret-0123456789abcdef", id, sha), ds, "cdm_x"]) {
      const res = await download(id, token);
      expect(res.status, token).toBe(404);
      expect(JSON.stringify(res.json)).not.toContain(sha);
    }
    expect((await download("not-a-uuid", modelDownloadToken(authSecret(), id, sha))).status).toBe(404);
  });

  it("closes once the deployment is stopped, and for a deployment served locally", async () => {
    const token = modelDownloadToken(authSecret(), other, (await db().select({ sha: deployments.modelSha256 }).from(deployments).where(eq(deployments.id, other)))[0]!.sha!);
    await db().update(deployments).set({ backend: "local" }).where(eq(deployments.id, other));
    expect((await download(other, token)).status).toBe(404);
    await db().update(deployments).set({ backend: "kubernetes", status: "stopped" }).where(eq(deployments.id, other));
    expect((await download(other, token)).status).toBe(404);
  });
});
