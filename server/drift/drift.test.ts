// Drift monitoring below the HTTP layer, on a demo database: the gateway's sampler stores the deployment's share
// of requests with the columns tagged sensitive removed (named, positional and OIP bodies alike), the worker
// computes PSI, chi-square and data quality per feature and window against the run's reference profile (and
// upserts a window it computes again), the service answers the page's figures and refuses another team, and
// drift and canary_regression alert rules fire with their webhook reaching a local receiver.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deploymentSplits, deployments, driftWindows, inferenceSamples, modelVersions, registeredModels, splitRequestLog, teams } from "@/db/schema";
import { PREDICTION_FEATURE, REFERENCE_FORMAT } from "@/lib/schemas/drift";
import { createAlertRule } from "../alerts/service";
import { evaluateAlertRules } from "../alerts/evaluate";
import { deliverAlertNotifications } from "../alerts/notify";
import { mlflow, post } from "../mlflow/test-client";
import { createModel, putRunFile, registerVersion, runWithModel, unique } from "../registry/test-helpers";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "../testing/fixtures";
import { computeDrift } from "./compute";
import { forgetReference } from "./reference";
import { droppedInferenceSamples, flushInferenceSamples, sampleInference, setInferenceQueueLimits, storedRow } from "./sampler";
import { getDrift, setSampleRate } from "./service";

process.env.CAIRN_WEBHOOK_ALLOWED_HOSTS = "127.0.0.1,localhost";

const db = demoDatabase();

const PROFILE = {
  format: REFERENCE_FORMAT,
  rows: 100,
  features: [
    { name: "tenure", kind: "numeric", bin_edges: [0, 10, 20, 30, 40], counts: [25, 25, 25, 25], range: [0, 100] },
    { name: "plan", kind: "categorical", counts: { basic: 50, pro: 50 } },
    { name: "email", kind: "categorical", counts: { "a@example.com": 1 } },
  ],
  prediction: { name: "prediction", kind: "numeric", bin_edges: [0, 0.5, 1], counts: [50, 50] },
};

const hooks: Record<string, unknown>[] = [];
const receiver = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c: Buffer) => (body += c.toString("utf8")));
  req.on("end", () => {
    hooks.push(JSON.parse(body) as Record<string, unknown>);
    res.writeHead(200).end();
  });
});

let churnId = "";
let monitored = "";
let exampleOnly = "";
let badProfile = "";
let monitoredName = "";
let mleToken = "";

/** A ready deployment row of the registered version 1 (nothing serves it: the sampler is handed its answers). */
async function deploymentOf(name: string): Promise<string> {
  const [v] = await db().select({ modelId: registeredModels.id, versionId: modelVersions.id }).from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .where(and(eq(registeredModels.name, name), eq(registeredModels.teamId, churnId), eq(modelVersions.version, 1)));
  const { modelId, versionId } = v!;
  const [row] = await db().insert(deployments).values({
    teamId: churnId, modelId, versionId, modelName: name, version: 1, environment: "staging", status: "ready",
    replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, createdByEmail: DEMO.mle,
  }).returning({ id: deployments.id });
  return row!.id;
}

beforeAll(async () => {
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  churnId = team!.id;
  const token = (mleToken = await tokenFor(db(), DEMO.mle, "churn"));
  // A run with a model and its reference profile; the version tags `email` sensitive.
  const at = await runWithModel(token, "drift");
  await putRunFile(token, at, "reference/profile.json", JSON.stringify(PROFILE));
  const name = unique("drift");
  await createModel(token, name);
  const v = await registerVersion(token, name, at);
  expect((await post(token, "model-versions/set-tag", { name, version: v.version, key: "cairn.sensitive_columns", value: "email" })).status).toBe(200);
  monitored = await deploymentOf(name);
  monitoredName = name;
  // A run with a model and no profile: only its input example.
  const fromExample = await runWithModel(token, "drift-ex");
  const name2 = unique("drift-ex");
  await createModel(token, name2);
  await registerVersion(token, name2, fromExample);
  exampleOnly = await deploymentOf(name2);
  // A run whose profile is not one (counts do not fit the edges).
  const broken = await runWithModel(token, "drift-bad");
  await putRunFile(token, broken, "reference/profile.json", JSON.stringify({ ...PROFILE, features: [{ name: "x", kind: "numeric", bin_edges: [0, 1], counts: [1, 2] }] }));
  const name3 = unique("drift-bad");
  await createModel(token, name3);
  await registerVersion(token, name3, broken);
  badProfile = await deploymentOf(name3);
});

afterAll(async () => {
  await new Promise((r) => receiver.close(r));
});

/** A profile naming these columns (numeric, the bins do not matter here). */
const profileOf = (...names: string[]) => ({ format: REFERENCE_FORMAT as typeof REFERENCE_FORMAT, features: names.map((name) => ({ name, kind: "numeric" as const, bin_edges: [0, 1], counts: [1] })) });
const bytes = (json: unknown) => new TextEncoder().encode(JSON.stringify(json)).buffer as ArrayBuffer;
const answer = (json: unknown, status = 200) => ({ status, body: Buffer.from(JSON.stringify(json)) });
const samplesOf = (id: string) => db().select().from(inferenceSamples).where(eq(inferenceSamples.deploymentId, id)).orderBy(inferenceSamples.id);

describe("sampling", () => {
  it("stores nothing at rate 0, every request at rate 1, and never a sensitive column (named, positional or OIP)", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    expect(await setSampleRate(mle, monitored, { sample_rate: 0 })).toEqual({ sample_rate: 0 });
    for (let i = 0; i < 20; i++) {
      sampleInference(db(), { deploymentId: monitored, requestId: `off-${i}`, body: bytes({ dataframe_records: [{ tenure: 5, plan: "pro", email: "x@example.com" }] }), answer: answer({ predictions: [0.2] }) });
    }
    await flushInferenceSamples();
    expect(await samplesOf(monitored)).toHaveLength(0);

    await setSampleRate(mle, monitored, { sample_rate: 1 });
    sampleInference(db(), {
      deploymentId: monitored, requestId: "named",
      body: bytes({ dataframe_split: { columns: ["tenure", "plan", "email", "ssn"], data: [[5, "pro", "secret@example.com", "123-45-6789"], [15, "basic", "other@example.com", "987"]] } }),
      answer: answer({ predictions: [[0.8, 0.2], [0.3, 0.7]] }),
    });
    // Positional rows are named after the profile's columns, so the third (email) is dropped too.
    sampleInference(db(), { deploymentId: monitored, requestId: "positional", body: bytes({ instances: [[25, "pro", "pos@example.com"]] }), answer: answer({ predictions: [1] }) });
    sampleInference(db(), {
      deploymentId: monitored, requestId: "oip",
      body: bytes({ inputs: [{ name: "tenure", shape: [1], datatype: "FP32", data: [35] }, { name: "email", shape: [1], datatype: "BYTES", data: ["oip@example.com"] }] }),
      answer: answer({ outputs: [{ name: "p", shape: [1, 2], datatype: "FP32", data: [0.1, 0.9] }] }),
    });
    // Errors and empty bodies are not sampled.
    sampleInference(db(), { deploymentId: monitored, requestId: "error", body: bytes({ instances: [[1, "pro"]] }), answer: answer({ error: "bad" }, 400) });
    await flushInferenceSamples();
    const rows = await samplesOf(monitored);
    // Requests are read concurrently: their order in the log is not the order they were handed over.
    const got = rows.map((r) => [r.requestId, r.features, r.prediction] as const).sort((a, b) => Number(a[1].tenure) - Number(b[1].tenure));
    expect(got).toEqual([
      ["named", { tenure: 5, plan: "pro" }, 0.2],
      ["named", { tenure: 15, plan: "basic" }, 0.7],
      ["positional", { tenure: 25, plan: "pro" }, 1],
      ["oip", { tenure: 35 }, 0.9],
    ]);
    expect(JSON.stringify(rows)).not.toMatch(/@example\.com|123-45/);
  });

  it("applies a sensitive tag set on the registered model from the next request", async () => {
    const before = (await samplesOf(monitored)).length;
    sampleInference(db(), { deploymentId: monitored, requestId: "cached", body: bytes({ dataframe_records: [{ tenure: 1, plan: "pro" }] }), answer: answer({ predictions: [0] }) });
    await flushInferenceSamples();
    expect((await post(mleToken, "registered-models/set-tag", { name: monitoredName, key: "cairn.sensitive_columns", value: "plan" })).status).toBe(200);
    sampleInference(db(), { deploymentId: monitored, requestId: "tagged", body: bytes({ dataframe_records: [{ tenure: 2, plan: "pro" }] }), answer: answer({ predictions: [0] }) });
    await flushInferenceSamples();
    expect((await mlflow(mleToken, "DELETE", "registered-models/delete-tag", { body: { name: monitoredName, key: "cairn.sensitive_columns" } })).status).toBe(200);
    const rows = (await samplesOf(monitored)).slice(before);
    expect(rows.map((r) => [r.requestId, r.features])).toEqual([["cached", { tenure: 1, plan: "pro" }], ["tagged", { tenure: 2 }]]);
    await db().delete(inferenceSamples).where(eq(inferenceSamples.deploymentId, monitored));
  });

  it("keeps no inputs of a positional row it cannot name while columns are marked sensitive", () => {
    expect(storedRow({ "#0": 1, "#1": "a" }, true, { sensitive: ["email"], profile: null })).toEqual({});
    expect(storedRow({ "#0": 1, "#1": "a" }, true, { sensitive: [], profile: profileOf("#0", "#1") })).toEqual({ "#0": 1, "#1": "a" });
    expect(storedRow({ a: { nested: 1 }, b: "x".repeat(500) }, false, { sensitive: [], profile: profileOf("a", "b") })).toEqual({ a: "(unsupported)", b: "x".repeat(256) });
  });

  it("stores only the profile's columns, never a sensitive one whatever its case or spacing", () => {
    const reference = { sensitive: [" SSN"], profile: profileOf("age", "Income", "ssn") };
    // The ONNX replica takes values by position: `SSN`, ` ssn` and `Ssn ` all reach it, none is stored.
    expect(storedRow({ SSN: "123-45-6789", " ssn": "1", "Ssn ": "2", AGE: 30, " income ": 5, extra: "x" }, false, reference)).toEqual({ age: 30, Income: 5 });
    expect(storedRow({ "#0": 30, "#1": 5, "#2": "123-45-6789", "#3": "beyond" }, true, reference)).toEqual({ age: 30, Income: 5 });
    // A profile with positional names cannot say which column is sensitive: predictions only.
    expect(storedRow({ "#0": 30, "#1": "123-45-6789" }, true, { sensitive: ["ssn"], profile: profileOf("#0", "#1") })).toEqual({});
    expect(storedRow({ ssn: "123-45-6789", age: 3 }, false, { sensitive: ["ssn"], profile: profileOf("#0", "#1") })).toEqual({});
    // A profile that does not name every sensitive column: predictions only.
    expect(storedRow({ age: 30, email: "a@example.com" }, false, { sensitive: ["ssn"], profile: profileOf("age", "email") })).toEqual({});
    // No profile: nothing is known to be safe.
    expect(storedRow({ age: 30 }, false, { sensitive: [], profile: null })).toEqual({});
  });

  it("stores a sampled row no larger than its profile's columns: missing values skipped, strings cut, columns capped", () => {
    const reference = { sensitive: [], profile: profileOf("a", "b") };
    const wide = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`column_${"n".repeat(200)}_${i}`, null]));
    expect(storedRow({ ...wide, a: null, b: "y".repeat(10_000) }, false, reference)).toEqual({ b: "y".repeat(256) });
    const many = profileOf(...Array.from({ length: 600 }, (_, i) => `c${i}`));
    expect(Object.keys(storedRow(Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`c${i}`, i])), false, { sensitive: [], profile: many }))).toHaveLength(500);
  });

  it("bounds the queue by bytes as well as rows, dropping and counting the samples beyond", async () => {
    const before = (await samplesOf(monitored)).length;
    const dropped = droppedInferenceSamples();
    const body = bytes({ dataframe_records: Array.from({ length: 10 }, (_, i) => ({ tenure: i, plan: "p".repeat(200) })) });
    const one = JSON.stringify({ tenure: 1, plan: "p".repeat(200) }).length;
    const previous = setInferenceQueueLimits({ rows: 1000, bytes: 15 * (one + 200) });
    try {
      for (let r = 0; r < 3; r++) sampleInference(db(), { deploymentId: monitored, requestId: `bounded-${r}`, body, answer: answer({ predictions: Array(10).fill(0.5) }) });
      await flushInferenceSamples();
    } finally {
      setInferenceQueueLimits(previous);
    }
    const stored = (await samplesOf(monitored)).length - before;
    expect(stored).toBeGreaterThanOrEqual(10);
    expect(stored).toBeLessThan(30);
    expect(droppedInferenceSamples() - dropped).toBe(30 - stored);
    await db().delete(inferenceSamples).where(eq(inferenceSamples.deploymentId, monitored));
  });

  it("does not sample a body nested deeper than it reads, and stores a named request at its profile's size", async () => {
    const before = (await samplesOf(monitored)).length;
    const deepBody = new TextEncoder().encode(`{"instances":${"[".repeat(200_000)}1${"]".repeat(200_000)}}`).buffer as ArrayBuffer;
    sampleInference(db(), { deploymentId: monitored, requestId: "deep", body: deepBody, answer: answer({ predictions: [1] }) });
    const wideRows = Array.from({ length: 20 }, (_, r) => ({ tenure: r, plan: "pro", ...Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`c_${"z".repeat(100)}_${i}`, i])) }));
    const wideBody = bytes({ dataframe_records: wideRows });
    sampleInference(db(), { deploymentId: monitored, requestId: "wide", body: wideBody, answer: answer({ predictions: wideRows.map(() => 0.5) }) });
    await flushInferenceSamples();
    const rows = (await samplesOf(monitored)).slice(before);
    expect(rows.map((r) => r.requestId)).toEqual(Array.from({ length: 20 }, () => "wide"));
    expect(rows.map((r) => Object.keys(r.features).sort())).toEqual(Array.from({ length: 20 }, () => ["plan", "tenure"]));
    expect(JSON.stringify(rows.map((r) => r.features)).length).toBeLessThan(wideBody.byteLength / 100);
    await db().delete(inferenceSamples).where(eq(inferenceSamples.deploymentId, monitored));
  });

  it("refuses a sample rate outside 0–1, another team's member, and a data scientist on a production deployment", async () => {
    const [mle, ds, foreign] = await Promise.all([ctxFor(db(), DEMO.mle), ctxFor(db(), DEMO.ds), ctxFor(db(), DEMO.leadFraud)]);
    await expect(setSampleRate(mle, monitored, { sample_rate: 1.5 })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(setSampleRate(foreign, monitored, { sample_rate: 0.5 })).rejects.toMatchObject({ code: "not_found" });
    await expect(getDrift(foreign, monitored, { hours: 24 })).rejects.toMatchObject({ code: "not_found" });
    const [dep] = await db().select().from(deployments).where(eq(deployments.id, monitored));
    const [production] = await db().insert(deployments).values({ ...dep!, id: undefined, environment: "production", sampleRate: 0.1, createdAt: undefined }).returning({ id: deployments.id });
    await expect(setSampleRate(ds, production!.id, { sample_rate: 0.5 })).rejects.toMatchObject({ code: "forbidden" });
    await db().update(deployments).set({ status: "stopped" }).where(eq(deployments.id, production!.id));
    const rates = await db().select({ id: deployments.id, rate: deployments.sampleRate }).from(deployments).where(eq(deployments.modelId, dep!.modelId));
    expect(rates.map((r) => r.rate)).toEqual([1, 0.1]);
  });
});

describe("the drift worker", () => {
  it("computes PSI, chi-square and data quality per feature against the reference, and upserts the window", async () => {
    const now = new Date();
    // A drifted stream: every tenure in the top bin, plans mostly basic, some missing, some out of range.
    const rows = Array.from({ length: 100 }, (_, i) => ({
      deploymentId: monitored, requestId: `drift-${i}`, at: now,
      features: { tenure: i < 10 ? null : i < 15 ? 500 : 35, plan: i < 90 ? "basic" : "pro" } as Record<string, unknown>,
      prediction: 0.9,
    }));
    await db().insert(inferenceSamples).values(rows);
    const pass = await computeDrift(db(), { windowMinutes: 60, retentionDays: 14, now });
    expect(pass.windows).toBeGreaterThanOrEqual(1);
    const stored = await db().select().from(driftWindows).where(eq(driftWindows.deploymentId, monitored));
    const current = stored.filter((w) => w.windowStart.getTime() === Math.floor(now.getTime() / 3_600_000) * 3_600_000);
    expect(current.map((w) => w.feature).sort()).toEqual([PREDICTION_FEATURE, "plan", "tenure"]);
    const tenure = current.find((w) => w.feature === "tenure")!;
    expect(tenure.samples).toBeGreaterThanOrEqual(100);
    expect(tenure.psi!).toBeGreaterThan(1);
    expect(tenure.missingShare).toBeGreaterThan(0.05);
    expect(tenure.invalidShare).toBeGreaterThan(0.03);
    const plan = current.find((w) => w.feature === "plan")!;
    expect(plan.chiSquareP!).toBeLessThan(0.001);
    expect(current.find((w) => w.feature === PREDICTION_FEATURE)!.psi!).toBeGreaterThan(0.25);
    // Computed again: the same rows, updated.
    await computeDrift(db(), { windowMinutes: 60, retentionDays: 14, now });
    const again = await db().select().from(driftWindows).where(and(eq(driftWindows.deploymentId, monitored), eq(driftWindows.feature, "tenure")));
    expect(again.filter((w) => w.windowStart.getTime() === tenure.windowStart.getTime())).toHaveLength(1);
  });

  it("finishes a window once computed after its end, and leaves it as it is then", async () => {
    const hour = 3_600_000;
    const start = Math.floor(Date.now() / hour) * hour;
    const tenure = () => db().select().from(driftWindows).where(and(eq(driftWindows.deploymentId, monitored), eq(driftWindows.feature, "tenure"), eq(driftWindows.windowStart, new Date(start))));
    await computeDrift(db(), { windowMinutes: 60, retentionDays: 14, now: new Date(start + hour + 1000) });
    const [final] = await tenure();
    // A late sample stamped inside the finished window changes nothing.
    await db().insert(inferenceSamples).values({ deploymentId: monitored, requestId: "late", features: { tenure: 1 }, at: new Date(start + 1000) });
    await computeDrift(db(), { windowMinutes: 60, retentionDays: 14, now: new Date(start + hour + 60_000) });
    const [after] = await tenure();
    expect(after!.samples).toBe(final!.samples);
    expect(after!.computedAt.getTime()).toBe(final!.computedAt.getTime());
  });

  it("prunes samples past the retention", async () => {
    await db().insert(inferenceSamples).values({ deploymentId: monitored, requestId: "old", features: { tenure: 1 }, at: new Date(Date.now() - 20 * 86_400_000) });
    const pass = await computeDrift(db(), { windowMinutes: 60, retentionDays: 14 });
    expect(pass.pruned).toBeGreaterThanOrEqual(1);
    expect((await samplesOf(monitored)).some((r) => r.requestId === "old")).toBe(false);
  });

  it("answers the page's figures: drift over time, reference beside live, sensitive columns named and not monitored", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    const drift = await getDrift(mle, monitored, { hours: 24 });
    expect(drift.reference.source).toBe("profile");
    expect(drift.reference.note).toMatch(/Marked sensitive, never stored and not monitored: email/);
    expect(drift.sample_rate).toBe(1);
    expect(drift.samples.stored).toBeGreaterThanOrEqual(100);
    expect(drift.features.map((f) => f.name)).toEqual(["tenure", "plan", PREDICTION_FEATURE]);
    const tenure = drift.features[0]!;
    expect(tenure.latest!.psi!).toBeGreaterThan(1);
    expect(tenure.distribution.map((d) => d.label)).toEqual(["< 10", "[10, 20)", "[20, 30)", "≥ 30"]);
    expect(tenure.distribution.map((d) => d.reference)).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(tenure.distribution[3]!.live!).toBeGreaterThan(0.9);
    expect(drift.viewer_can.manage).toBe(true);
  });

  it("says what is wrong with a profile that is not one, and computes nothing against it", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    const drift = await getDrift(mle, badProfile, { hours: 24 });
    expect(drift.reference.source).toBeNull();
    expect(drift.reference.note).toMatch(/is not a cairn\.reference_profile\/v1 profile \(features\.0: x: counts has 2 bins, bin_edges needs 3 edges\)/);
    expect(drift.features).toEqual([]);
  });

  it("says when the reference is only the model's input example, and when there are no samples yet", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    forgetReference(exampleOnly);
    const drift = await getDrift(mle, exampleOnly, { hours: 24 });
    expect(drift.reference.source).toBe("input_example");
    expect(drift.reference.note).toMatch(/input example \(1 rows\)/);
    expect(drift.samples).toEqual({ stored: 0, last_at: null });
    expect(drift.features.every((f) => f.latest === null && f.series.length === 0)).toBe(true);
  });

  it("says the input example could not be read when it is nested too deep, instead of failing", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    const [d] = await db().select({ versionId: deployments.versionId }).from(deployments).where(eq(deployments.id, exampleOnly));
    const [v] = await db().select({ inspection: modelVersions.inspection }).from(modelVersions).where(eq(modelVersions.id, d!.versionId!));
    const deep = `{"instances":${"[".repeat(200_000)}1${"]".repeat(200_000)}}`;
    try {
      for (const example of [deep, "{not json"]) {
        await db().update(modelVersions).set({ inspection: { ...v!.inspection, inputExample: example } }).where(eq(modelVersions.id, d!.versionId!));
        forgetReference(exampleOnly);
        const drift = await getDrift(mle, exampleOnly, { hours: 24 });
        expect(drift.reference.source).toBeNull();
        expect(drift.reference.note).toMatch(/the input example could not be read/);
        expect(drift.features).toEqual([]);
      }
    } finally {
      await db().update(modelVersions).set({ inspection: v!.inspection }).where(eq(modelVersions.id, d!.versionId!));
      forgetReference(exampleOnly);
    }
  });
});

describe("alert rules", () => {
  it("a drift rule fires above its PSI threshold and its webhook reaches the receiver; a foreign deployment is refused", async () => {
    const [mle, foreign] = await Promise.all([ctxFor(db(), DEMO.mle), ctxFor(db(), DEMO.leadFraud)]);
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    await expect(createAlertRule(foreign, { name: "Foreign", kind: "drift", deployment_id: monitored, threshold: 0.25, team: "fraud" })).rejects.toMatchObject({ code: "invalid_input" });
    await expect(createAlertRule(mle, { name: "NoDeployment", kind: "drift", threshold: 0.25, team: "churn" })).rejects.toMatchObject({ code: "invalid_input" });
    const any = await createAlertRule(mle, { team: "churn", name: "TenureDrift", kind: "drift", deployment_id: monitored, threshold: 0.25, min_requests: 10, window_seconds: 3600, webhook_urls: [url] });
    const quiet = await createAlertRule(mle, { team: "churn", name: "PlanDriftHigh", kind: "drift", deployment_id: monitored, feature: "plan", threshold: 50, min_requests: 10, window_seconds: 3600 });
    expect(any.kind).toBe("drift");
    expect(quiet.feature).toBe("plan");
    hooks.length = 0;
    const now = new Date();
    const made = await evaluateAlertRules(db(), { now, repeatMs: 3_600_000, baseUrl: "http://cairn.test" });
    expect(made.filter((t) => t.rule === "TenureDrift").map((t) => t.to)).toEqual(["pending", "firing"]);
    expect(made.some((t) => t.rule === "PlanDriftHigh")).toBe(false);
    await deliverAlertNotifications(db(), { now, from: "cairn@example.com" });
    expect(hooks).toHaveLength(1);
    expect(hooks[0]).toMatchObject({ kind: "drift", rule: "TenureDrift", state: "firing", text: expect.stringMatching(/^\[FIRING\] TenureDrift .* \(any feature\) is PSI \d/) });
  });

  it("a canary_regression rule compares the active split's candidate with its baseline", async () => {
    const mle = await ctxFor(db(), DEMO.mle);
    const [dep] = await db().select().from(deployments).where(eq(deployments.id, monitored));
    const [candidate] = await db().insert(deployments).values({ ...dep!, id: undefined, version: 2, createdAt: undefined }).returning({ id: deployments.id });
    const [split] = await db().insert(deploymentSplits).values({
      teamId: churnId, modelId: dep!.modelId, baselineId: monitored, candidateId: candidate!.id, environment: "staging", weight: 50, startedByEmail: DEMO.mle,
    }).returning({ id: deploymentSplits.id });
    const log = (variant: "baseline" | "candidate", n: number, errors: number, latencyMs: number) =>
      Array.from({ length: n }, (_, i) => ({ splitId: split!.id, requestId: `${variant}-${i}`, variant, deploymentId: variant === "baseline" ? monitored : candidate!.id, status: i < errors ? 500 : 200, latencyMs }));
    await db().insert(splitRequestLog).values([...log("baseline", 50, 0, 10), ...log("candidate", 50, 5, 90)]);
    await createAlertRule(mle, { team: "churn", name: "CanaryErrors", kind: "canary_regression", signal: "error_share", deployment_id: monitored, threshold: 5, min_requests: 20 });
    await createAlertRule(mle, { team: "churn", name: "CanaryP99", kind: "canary_regression", signal: "latency_p99_ms", deployment_id: candidate!.id, threshold: 100, min_requests: 20 });
    await expect(createAlertRule(mle, { team: "churn", name: "NoSignal", kind: "canary_regression", deployment_id: monitored, threshold: 5 })).rejects.toMatchObject({ code: "invalid_input" });
    const made = await evaluateAlertRules(db(), { now: new Date(), repeatMs: 3_600_000, baseUrl: "http://cairn.test" });
    // 10 % against 0 %: 10 points, over 5. p99 80 ms over the baseline's, under 100.
    expect(made.filter((t) => t.rule === "CanaryErrors").map((t) => t.to)).toEqual(["pending", "firing"]);
    expect(made.some((t) => t.rule === "CanaryP99")).toBe(false);
    const rules = await db().query.alertRules.findMany();
    expect(rules.find((r) => r.name === "CanaryErrors")!.lastValue).toBeCloseTo(10, 6);
    expect(rules.find((r) => r.name === "CanaryP99")!.lastValue).toBeCloseTo(80, 6);
  });
});
