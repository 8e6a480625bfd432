// Hostile review (review-s finding 4): insertDeployment took the platform-wide host lock (HOST_REPLICAS_LOCK) and
// then waited, holding it, for its model's row (FOR SHARE), so anything of team churn holding its own model row
// stalled every other team's deploys and scale-ups. It now locks its model and version first, and the host lock
// only for local deployments (postgres only: PGlite has one connection).
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import { registeredModels } from "@/db/schema";
import { deployModelSchema } from "@/lib/schemas/deployments";
import { deployModel } from "@/server/approvals/deploy";
import { scaleDeployment } from "@/server/deployments/scaling";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();

async function readyModel(token: string): Promise<{ name: string; id: string }> {
  const name = unique("hostlock");
  const m = await createModel(token, name);
  const run = await newRun(token, "hostlock");
  await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
  await registerVersion(token, name, run);
  const [row] = await db().select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.name, m.name));
  return { name, id: row!.id };
}

afterAll(async () => {
  await stopAllReplicas();
});

describe.skipIf(process.env.CAIRN_TEST_DB !== "postgres")("one team's locked model row does not stall another team's deploys and scale-ups", () => {
  it("fraud's PATCH scale-up goes through while a churn deploy waits on churn's model row", async () => {
    const fraudToken = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const churnToken = await tokenFor(db(), DEMO.ds, "churn");
    const fraudModel = await readyModel(fraudToken);
    const fraudCtx = await ctxFor(db(), DEMO.dsFraud);
    const deployed = await deployModel(fraudCtx, fraudModel.name, deployModelSchema.parse({ version: 1, environment: "staging", replicas: 1, auto_scale: false }));
    const fraudDeployment = (deployed as { deployment_id: string }).deployment_id;
    const churnModel = await readyModel(churnToken);

    // Team churn holds its model's row for 3 s (as deleting a model with many versions does).
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const holder = db().transaction(async (tx) => {
      await tx.select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.id, churnModel.id)).for("update");
      await gate;
    });
    await new Promise((r) => setTimeout(r, 200));
    // A churn deploy of that model: takes the team's quota row and the host lock, then waits for the model row.
    const churnDeploy = deployModel(await ctxFor(db(), DEMO.ds), churnModel.name, deployModelSchema.parse({ version: 1, environment: "staging", replicas: 1, auto_scale: false })).catch(() => null);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    const timer = setTimeout(release, 3000);
    await scaleDeployment(fraudCtx, fraudDeployment, { replicas: 2 });
    const waited = Date.now() - started;
    clearTimeout(timer);
    release();
    await holder;
    await churnDeploy;
    // Team fraud's scale-up has nothing to do with churn's model: it should not wait for it.
    expect(waited, `fraud's PATCH waited ${waited} ms on churn's model row`).toBeLessThan(1000);
  });
});
