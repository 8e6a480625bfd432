// What drift monitoring's sampling adds to each gateway answer. On the request path: `sampleInference` (a random
// draw and, for a sampled request, a copy of the answer) — timed per call. Off the request path, on the same event
// loop: reading the request's rows and the answer's predictions, queueing them and the batched INSERT — timed as
// the whole work for N sampled requests divided by N (what each sampled request costs the process in all).
// Run: npx tsx bench/drift-sampling.ts [--requests 20000]
import { count, eq } from "drizzle-orm";
import { openDatabase } from "../db/client";
import { deployments, inferenceSamples, registeredModels, teams } from "../db/schema";
import { deploymentReference, forgetReference } from "../server/drift/reference";
import { flushInferenceSamples, sampleInference } from "../server/drift/sampler";

const flag = process.argv.indexOf("--requests");
const requests = flag > 0 ? Number(process.argv[flag + 1]) : 20_000;
const database = await openDatabase({});
const db = database.db;
const [team] = await db.insert(teams).values({ slug: "bench", name: "bench", namespace: "cairn-bench" }).returning({ id: teams.id });
const now = Date.now();
const [model] = await db.insert(registeredModels).values({ teamId: team!.id, name: "churn", creationTime: now, lastUpdatedTime: now }).returning({ id: registeredModels.id });
const [dep] = await db.insert(deployments).values({
  teamId: team!.id, modelId: model!.id, modelName: "churn", version: 1, environment: "staging", status: "ready", replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: "bench@example.com",
}).returning({ id: deployments.id });
const id = dep!.id;

// A churn request as the example's clients send it (one row of 11 features, OIP v2) and the model server's answer.
const body = new TextEncoder().encode(JSON.stringify({ inputs: [{ name: "features", shape: [1, 11], datatype: "FP32", data: [12, 70.5, 845, 2, 3, 2, 0, 0, 2, 38.5, 1] }] })).buffer as ArrayBuffer;
const answerText = JSON.stringify({ model_name: "churn", outputs: [{ name: "probabilities", shape: [1, 2], datatype: "FP32", data: [0.71, 0.29] }] });

const quantile = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function measure(rate: number): Promise<string> {
  await db.update(deployments).set({ sampleRate: rate }).where(eq(deployments.id, id));
  forgetReference(id);
  await deploymentReference(db, id);
  await db.delete(inferenceSamples);
  const onPathUs: number[] = [];
  const started = performance.now();
  for (let i = 0; i < requests; i++) {
    const answer = { status: 200, body: Buffer.from(answerText) };
    const t = performance.now();
    sampleInference(db, { deploymentId: id, requestId: `r-${i}`, body, answer });
    onPathUs.push((performance.now() - t) * 1000);
    // Let the off-path work run between requests, as it does between a server's requests.
    if (i % 100 === 99) await new Promise((r) => setImmediate(r));
  }
  await flushInferenceSamples();
  const totalMs = performance.now() - started;
  const [stored] = await db.select({ n: count() }).from(inferenceSamples);
  onPathUs.sort((a, b) => a - b);
  return `rate ${rate}: on the request path p50 ${quantile(onPathUs, 0.5).toFixed(1)} µs, p99 ${quantile(onPathUs, 0.99).toFixed(1)} µs; `
    + `all work ${(totalMs * 1000 / requests).toFixed(1)} µs per request (${stored!.n} of ${requests} sampled and written)`;
}

for (const rate of [0, 0.1, 1]) console.log(await measure(rate));
await database.close();
