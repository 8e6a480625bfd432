// The contract between the churn example and drift monitoring: examples/churn/train.mjs, run against Cairn's
// MLflow API (served here over HTTP on a free port by the same handlers as the app's routes), logs
// reference/profile.json; the registered version's deployment reads it as its reference (11 features in the
// model's input order, and the prediction), rows sent as the example's clients send them (OIP, one row tensor)
// are named after it, and a stream far from the training data shows as drift where it is far.
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { deployments, modelVersions, registeredModels, teams } from "@/db/schema";
import { handleArtifacts } from "../mlflow/artifacts-handler";
import { handleMlflow } from "../mlflow/handler";
import { post } from "../mlflow/test-client";
import { unique } from "../registry/test-helpers";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { computeDrift } from "./compute";
import { deploymentReference } from "./reference";
import { flushInferenceSamples, sampleInference } from "./sampler";
import { getDrift } from "./service";

const run = promisify(execFile);
const db = demoDatabase();

/** Cairn's MLflow and artifact routes over HTTP, as the example's client calls them. */
const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    void (async () => {
      const url = `http://localhost${req.url}`;
      const headers = new Headers(Object.entries(req.headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : [])) as [string, string][]);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : Buffer.concat(chunks);
      const request = new Request(url, { method: req.method, headers, body });
      const path = new URL(url).pathname;
      const answer = path.startsWith("/api/2.0/mlflow-artifacts/")
        ? await handleArtifacts(request)
        : await handleMlflow(request, path.replace("/api/2.0/mlflow/", "").split("/"));
      res.writeHead(answer.status, Object.fromEntries(answer.headers.entries()));
      res.end(Buffer.from(await answer.arrayBuffer()));
    })();
  });
});

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

it("the churn example logs a profile its deployment monitors drift against", { timeout: 180_000 }, async () => {
  const token = await tokenFor(db(), DEMO.mle, "churn");
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const trained = await run(process.execPath, ["examples/churn/train.mjs", "--epochs", "2", "--epoch-delay-ms", "0"], {
    env: { ...process.env, MLFLOW_TRACKING_URI: base, MLFLOW_TRACKING_TOKEN: token, MLFLOW_EXPERIMENT_NAME: unique("drift-example") },
    timeout: 150_000,
  });
  const runId = /run (\w+) FINISHED/.exec(trained.stdout)?.[1];
  expect(runId, trained.stdout + trained.stderr).toBeTruthy();
  const name = unique("churn-drift");
  expect((await post(token, "registered-models/create", { name })).status).toBe(200);
  expect((await post(token, "model-versions/create", { name, source: `runs:/${runId}/model`, run_id: runId })).status).toBe(200);
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  const [v] = await db().select({ modelId: registeredModels.id, versionId: modelVersions.id }).from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId)).where(and(eq(registeredModels.name, name), eq(registeredModels.teamId, team!.id)));
  const [dep] = await db().insert(deployments).values({
    teamId: team!.id, modelId: v!.modelId, versionId: v!.versionId, modelName: name, version: 1, environment: "staging", status: "ready",
    replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: DEMO.mle, sampleRate: 1,
  }).returning({ id: deployments.id });

  const reference = await deploymentReference(db(), dep!.id, { fresh: true });
  expect(reference!.source).toBe("profile");
  expect(reference!.profile!.features.map((f) => f.name)).toEqual([
    "tenure_months", "monthly_charges", "total_charges", "contract", "payment_method", "internet_service", "tech_support", "senior_citizen",
    "support_tickets_90d", "avg_monthly_usage_gb", "paperless_billing",
  ]);
  expect(reference!.profile!.prediction?.kind).toBe("numeric");

  // Charges and usage far above anything trained on; the rest as the input example has it.
  for (let i = 0; i < 40; i++) {
    const body = new TextEncoder().encode(JSON.stringify({ inputs: [{ name: "features", shape: [1, 11], datatype: "FP32", data: [12, 400 + i, 845, 2, 3, 2, 0, 0, 2, 900 + i, 1] }] })).buffer as ArrayBuffer;
    sampleInference(db(), { deploymentId: dep!.id, requestId: `ex-${i}`, body, answer: { status: 200, body: Buffer.from(JSON.stringify({ outputs: [{ name: "probabilities", shape: [1, 2], datatype: "FP32", data: [0.4, 0.6] }] })) } });
  }
  await flushInferenceSamples();
  await computeDrift(db(), { windowMinutes: 60, retentionDays: 14 });
  const drift = await getDrift(await ctxFor(db(), DEMO.mle), dep!.id, { hours: 24 });
  const psi = Object.fromEntries(drift.features.map((f) => [f.name, f.latest?.psi ?? null]));
  expect(psi.monthly_charges!).toBeGreaterThan(1);
  expect(psi.avg_monthly_usage_gb!).toBeGreaterThan(1);
  // A single repeated customer is also far from the training mix, but by less than the values no customer had.
  expect(psi.contract!).toBeLessThan(psi.monthly_charges!);
  expect(drift.features.find((f) => f.name === "contract")!.latest!.chi_square_p!).toBeLessThan(0.001);
});
