// Traffic splits through the routes and real replicas: a staging split at a weight (within tolerance over
// many requests), the variant/version/request-id headers, a sticky split keyed by X-Cairn-Split-Key, feedback
// turning into accuracy and AUC per variant, promote and abort, the guard's automatic abort with its numbers,
// a production split that starts only when approved (exactly as in its evidence), another team's actor
// refused with 404 everywhere, and bad input answered 400/409 with nothing changed.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents, deploymentEvents, deploymentSplits, deployments, modelAliases, registeredModels, splitRequestLog } from "@/db/schema";
import { POST as approveRoute } from "@/app/api/v1/approvals/[id]/approve/route";
import { GET as approvalRoute } from "@/app/api/v1/approvals/[id]/route";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { POST as feedbackRoute } from "@/app/api/v1/deployments/[id]/feedback/route";
import { POST as abortRoute } from "@/app/api/v1/deployments/[id]/split/abort/route";
import { POST as promoteRoute } from "@/app/api/v1/deployments/[id]/split/promote/route";
import { GET as getSplitRoute, POST as startRoute } from "@/app/api/v1/deployments/[id]/split/route";
import { POST as servePost } from "@/app/serve/[team]/[deployment]/[...path]/route";
import type { SplitDto } from "@/lib/schemas/splits";
import { routeCache } from "@/server/deployments/route-cache";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { guardSplits } from "@/server/deployments/split-guard";
import { flushSplitLog } from "@/server/deployments/split-log";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { settleDeployments } from "@/server/workers/testing";
import { flushDenials } from "@/server/audit/denials";

const db = demoDatabase({ routeCache: true });
let ds = "";
let mle = "";
let lead = "";
let fraud = "";
let model = "";
let other = "";

async function onnxVersion(name: string, weights: number[]): Promise<void> {
  const at = await newRun(ds, "split");
  await putRunFile(ds, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights, bias: [0] })));
  await registerVersion(ds, name, at);
}

async function deployStaging(version: number): Promise<string> {
  const res = await call(deployRoute, { method: "POST", token: ds, params: { name: model }, body: { version, environment: "staging", replicas: 1, auto_scale: false } });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  await settleDeployments(db());
  return (res.json as { deployment_id: string }).deployment_id;
}

/** A row of features; `i` varies it so predictions (scores) differ from request to request. */
const rowOf = (i: number) => [((i * 37) % 11) - 5, ((i * 17) % 7) - 3, ((i * 13) % 5) - 2, (i % 3) - 1];

async function infer(token: string, environment: string, i: number, headers: Record<string, string> = {}) {
  const res = await call(servePost as never, {
    method: "POST", token, headers, params: { team: "churn", deployment: model, path: [environment, "v2", "models", model, "infer"] },
    path: `/serve/churn/${encodeURIComponent(model)}/${environment}/v2/models/${encodeURIComponent(model)}/infer`,
    body: { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: rowOf(i) }] },
  });
  const h = res.response.headers;
  return { status: res.status, variant: h.get("x-cairn-variant"), version: h.get("x-cairn-model-version"), requestId: h.get("x-request-id"), deployment: h.get("x-cairn-deployment"), json: res.json };
}

const splitOf = async (id: string, token = ds) => {
  const res = await call(getSplitRoute, { token, params: { id } });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return (res.json as { split: SplitDto | null }).split;
};
const start = (id: string, body: unknown, token = ds) => call(startRoute, { method: "POST", token, params: { id }, body });
const errorOf = (res: { json: unknown }) => (res.json as { error: { message: string } }).error.message;
const statusOf = async (id: string) => (await db().select({ status: deployments.status }).from(deployments).where(eq(deployments.id, id)))[0]?.status;
const splitCount = async () => (await db().select({ id: deploymentSplits.id }).from(deploymentSplits)).length;

beforeAll(async () => {
  [ds, mle, lead, fraud] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.lead, "churn"), tokenFor(db(), DEMO.dsFraud, "fraud")]);
  model = unique("split-model");
  other = unique("split-other");
  await createModel(ds, model);
  await createModel(ds, other);
  await onnxVersion(model, [0.5, -1, 2, 0.25]); // v1
  await onnxVersion(model, [-0.5, 1, -2, 0.25]); // v2
  await onnxVersion(other, [1, 1, 1, 1]); // other v1
});

afterAll(async () => {
  await stopAllReplicas();
});

describe("a staging split", () => {
  let baseline = "";
  let candidate = "";
  const served: { variant: string; requestId: string; score: number }[] = [];

  it("refuses bad input with 400 or 409 and starts nothing", async () => {
    baseline = await deployStaging(1);
    const before = await splitCount();
    for (const weight of [0, 100, 10.5]) {
      const res = await start(baseline, { version: 2, weight });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.json)).toContain("weight must be a whole percentage from 1 to 99");
    }
    const foreignModel = await start(baseline, { model: other, version: 1, weight: 10 });
    expect(foreignModel.status).toBe(400);
    expect(errorOf(foreignModel)).toContain(`must be a version of the deployment's own model (${model})`);
    const same = await start(baseline, { version: 1, weight: 10 });
    expect(same.status).toBe(400);
    expect(errorOf(same)).toContain("already serves version 1");
    const none = await start(baseline, { version: 9, weight: 10 });
    expect(none.status).toBe(400);
    expect(errorOf(none)).toContain(`has no version 9`);
    for (const route of [promoteRoute, abortRoute]) {
      const res = await call(route, { method: "POST", token: ds, params: { id: baseline } });
      expect(res.status).toBe(409);
      expect(errorOf(res)).toContain("has no active traffic split");
    }
    const feedback = await call(feedbackRoute, { method: "POST", token: ds, params: { id: baseline }, body: { request_id: "x", label: 1 } });
    expect(feedback.status).toBe(409);
    expect(errorOf(feedback)).toContain("never had a traffic split");
    expect(await splitOf(baseline)).toBeNull();
    expect(await splitCount()).toBe(before);
  });

  it("starts: the candidate comes up through the reconciler and a second start is refused", async () => {
    const res = await start(baseline, { version: 2, weight: 30, abort: { error_share_points: 5, min_requests: 50 } });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const split = (res.json as { split: SplitDto }).split;
    expect(split).toMatchObject({ status: "active", weight: 30, sticky: false, abort: { error_share_points: 5, p99_ms: null, min_requests: 50 }, baseline: { deployment_id: baseline, version: 1, weight: 70 }, candidate: { version: 2, weight: 30, status: "deploying" } });
    candidate = split.candidate.deployment_id;
    await settleDeployments(db());
    expect(await statusOf(candidate)).toBe("ready");
    expect((await splitOf(baseline))!.candidate.status).toBe("ready");
    const again = await start(baseline, { version: 2, weight: 10 });
    expect(again.status).toBe(409);
    expect(errorOf(again)).toContain("already has an active traffic split");
    const onCandidate = await start(candidate, { version: 1, weight: 10 });
    expect(onCandidate.status).toBe(409);
    await flushDenials(db());
    const [audit] = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "deployment.split.start"), eq(auditEvents.target, `deployment:churn/${baseline}`)));
    expect(audit).toBeDefined();
  });

  it("sends about the weight to the candidate and names the variant, version and request id on every answer", async () => {
    const N = 300;
    // The stable address and its split come from the route cache after the first request (no lookups per request).
    const cache = routeCache(db());
    expect(cache.active).toBe(true);
    const misses = cache.stats.misses;
    for (let i = 0; i < N; i++) {
      const r = await infer(ds, "staging", i);
      expect(r.status).toBe(200);
      expect(r.variant === "candidate" ? r.version : "1").toBe(r.variant === "candidate" ? "2" : r.version);
      expect(r.deployment).toBe(r.variant === "candidate" ? candidate : baseline);
      expect(r.requestId).toMatch(/^[0-9a-f-]{36}$/);
      const outputs = (r.json as { outputs: { data: number[] }[] }).outputs;
      served.push({ variant: r.variant!, requestId: r.requestId!, score: outputs[0]!.data[1]! });
    }
    expect(cache.stats.misses - misses).toBeLessThanOrEqual(2);
    // A cached address is still another team's: its token is answered as for a model that does not exist.
    const foreign = await infer(fraud, "staging", 1);
    expect(foreign.status).toBe(404);
    expect(foreign.deployment).toBeNull();
    expect((foreign.json as { error: string }).error).toBe(`Model "${model}" was not found in team churn.`);
    const share = served.filter((s) => s.variant === "candidate").length / N;
    // Binomial(300, 0.3): the standard deviation is 2.6 points; 10 points is nearly 4 of them.
    expect(share).toBeGreaterThan(0.2);
    expect(share).toBeLessThan(0.4);
    const echoed = await infer(ds, "staging", 1, { "x-request-id": "client-chosen-42" });
    expect(echoed.requestId).toBe("client-chosen-42");
    await flushSplitLog();
    const split = (await splitOf(baseline))!;
    expect(split.baseline.requests + split.candidate.requests).toBe(N + 1);
    expect(split.candidate.requests).toBe(served.filter((s) => s.variant === "candidate").length + (echoed.variant === "candidate" ? 1 : 0));
    expect(split.baseline.latency_p50_ms).toBeGreaterThan(0);
    expect(split.candidate.latency_p99_ms).toBeGreaterThanOrEqual(split.candidate.latency_p50_ms!);
    expect(split.baseline.error_share).toBe(0);
    expect(split.candidate.requests_per_second).toBeGreaterThan(0);
    expect(split.baseline.accuracy).toBeNull();
    expect(split.baseline.auc).toBeNull();
  });

  it("turns feedback into accuracy and AUC per variant", async () => {
    // Baseline: labels the opposite of its predictions; candidate: labels that agree with them.
    const labelOf = (s: { variant: string; score: number }) => ((s.score >= 0.5) === (s.variant === "candidate") ? 1 : 0);
    const [first, ...rest] = served;
    const one = await call(feedbackRoute, { method: "POST", token: ds, params: { id: baseline }, body: { request_id: first!.requestId, label: labelOf(first!) } });
    expect(one.status, JSON.stringify(one.json)).toBe(200);
    expect(one.json).toMatchObject({ stored: 1, matched: 1 });
    const batch = await call(feedbackRoute, { method: "POST", token: mle, params: { id: candidate }, body: { feedback: rest.map((s) => ({ request_id: s.requestId, label: labelOf(s) === 1 })) } });
    expect(batch.status, JSON.stringify(batch.json)).toBe(200);
    expect(batch.json).toMatchObject({ stored: rest.length, matched: rest.length });
    let split = (await splitOf(baseline))!;
    expect(split.candidate.labelled).toBe(served.filter((s) => s.variant === "candidate").length);
    expect(split.candidate.accuracy).toBe(1);
    expect(split.baseline.accuracy).toBe(0);
    expect(split.candidate.auc).toBe(1);
    expect(split.baseline.auc).toBe(0);
    // Relabelling changes the figure: the candidate's first labelled request now disagrees.
    const firstCandidate = served.find((s) => s.variant === "candidate")!;
    await call(feedbackRoute, { method: "POST", token: ds, params: { id: baseline }, body: { request_id: firstCandidate.requestId, label: 1 - labelOf(firstCandidate) } });
    split = (await splitOf(baseline))!;
    expect(split.candidate.accuracy).toBeLessThan(1);
    // A client's own X-Request-Id sent with many requests: its one label counts once, not once per request.
    const before = (await splitOf(baseline))!;
    for (let i = 0; i < 12; i++) await infer(ds, "staging", 500 + i, { "x-request-id": "the-same-id" });
    await flushSplitLog();
    await call(feedbackRoute, { method: "POST", token: ds, params: { id: baseline }, body: { request_id: "the-same-id", label: 1 } });
    const after = (await splitOf(baseline))!;
    expect(after.baseline.labelled + after.candidate.labelled).toBe(before.baseline.labelled + before.candidate.labelled + 1);
    const tooMany = await call(feedbackRoute, { method: "POST", token: ds, params: { id: baseline }, body: { feedback: Array.from({ length: 1001 }, (_, i) => ({ request_id: `r${i}`, label: 0 })) } });
    expect(tooMany.status).toBe(400);
    const badLabel = await call(feedbackRoute, { method: "POST", token: ds, params: { id: baseline }, body: { request_id: "r", label: "yes" } });
    expect(badLabel.status).toBe(400);
  });

  it("answers another team's actor 404 on every split route and action, and audits the refusal", async () => {
    const asks = [
      () => call(getSplitRoute, { token: fraud, params: { id: baseline } }),
      () => start(baseline, { version: 2, weight: 10 }, fraud),
      () => call(promoteRoute, { method: "POST", token: fraud, params: { id: baseline } }),
      () => call(abortRoute, { method: "POST", token: fraud, params: { id: baseline } }),
      () => call(feedbackRoute, { method: "POST", token: fraud, params: { id: baseline }, body: { request_id: served[0]!.requestId, label: 0 } }),
    ];
    for (const ask of asks) {
      const res = await ask();
      expect(res.status, JSON.stringify(res.json)).toBe(404);
      expect(errorOf(res)).toBe(`Deployment ${baseline} was not found.`);
    }
    expect((await splitOf(baseline))!.status).toBe("active");
    await flushDenials(db());
    const denied = await db().select().from(auditEvents).where(and(eq(auditEvents.outcome, "denied"), eq(auditEvents.target, `deployment:${baseline}`)));
    // Refusals repeated before the audit write are one event with a `repeated` count (audit/denials.ts).
    expect(denied.reduce((n, e) => n + (Number((e.details as { repeated?: number }).repeated) || 1), 0)).toBeGreaterThanOrEqual(5);
  });

  it("aborts back to the baseline alone, then a sticky split keeps each key on one variant", async () => {
    const aborted = await call(abortRoute, { method: "POST", token: ds, params: { id: baseline } });
    expect(aborted.status, JSON.stringify(aborted.json)).toBe(200);
    expect(aborted.json).toMatchObject({ status: "aborted", candidate: { weight: 0 }, baseline: { weight: 100 } });
    expect(await statusOf(candidate)).toBe("stopped");
    await settleDeployments(db());
    for (let i = 0; i < 10; i++) expect((await infer(ds, "staging", i)).variant).toBe("baseline");
    expect((await call(abortRoute, { method: "POST", token: ds, params: { id: baseline } })).status).toBe(409);

    const res = await start(baseline, { version: 2, weight: 50, sticky: true });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    candidate = (res.json as { split: SplitDto }).split.candidate.deployment_id;
    await settleDeployments(db());
    const seen = new Map<string, string>();
    for (let k = 0; k < 40; k++) {
      const key = `user-${k}`;
      for (let repeat = 0; repeat < 3; repeat++) {
        const r = await infer(ds, "staging", k * 3 + repeat, { "X-Cairn-Split-Key": key });
        expect(r.variant === "baseline" || r.variant === "candidate").toBe(true);
        if (seen.has(key)) expect(r.variant, key).toBe(seen.get(key));
        seen.set(key, r.variant!);
      }
    }
    const candidates = [...seen.values()].filter((v) => v === "candidate").length;
    expect(candidates).toBeGreaterThan(5);
    expect(candidates).toBeLessThan(35);
  });

  it("promotes: the candidate takes all of the traffic and the baseline's replicas are released", async () => {
    const promoted = await call(promoteRoute, { method: "POST", token: ds, params: { id: baseline } });
    expect(promoted.status, JSON.stringify(promoted.json)).toBe(200);
    expect(promoted.json).toMatchObject({ status: "promoted", candidate: { weight: 100 }, baseline: { weight: 0 } });
    expect(await statusOf(baseline)).toBe("stopped");
    await settleDeployments(db());
    for (let i = 0; i < 10; i++) {
      const r = await infer(ds, "staging", i);
      expect(r).toMatchObject({ status: 200, deployment: candidate, version: "2", variant: "baseline" });
    }
    await flushDenials(db());
    const [audit] = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "deployment.split.promote"), eq(auditEvents.target, `deployment:churn/${baseline}`)));
    expect(audit?.details).toMatchObject({ candidate_deployment_id: candidate, stopped_deployment_id: baseline });
    expect((await splitOf(candidate))!.events.map((e) => e.kind)).toEqual(["promoted", "started"]);
  });
});

describe("automatic abort", () => {
  it("aborts a split whose candidate's error share passes the threshold, with the numbers in its event", async () => {
    const baseline = await deployStaging(1);
    const res = await start(baseline, { version: 2, weight: 20, abort: { error_share_points: 5, p99_ms: 1000, min_requests: 40 } });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    const split = (res.json as { split: SplitDto }).split;
    await settleDeployments(db());
    // The gateway's log as traffic would leave it: 1 of 50 baseline answers failed, 10 of 40 candidate answers.
    const rows = (variant: "baseline" | "candidate", n: number, errors: number) => Array.from({ length: n }, (_, i) => ({
      splitId: split.split_id, requestId: `${variant}-${i}`, variant, deploymentId: variant === "baseline" ? baseline : split.candidate.deployment_id, status: i < errors ? 500 : 200, latencyMs: 5,
    }));
    await db().insert(splitRequestLog).values([...rows("baseline", 50, 1), ...rows("candidate", 39, 10)]);
    // Below the minimum number of requests nothing is judged.
    expect((await guardSplits(db(), { retentionDays: 30 })).aborted).toEqual([]);
    await db().insert(splitRequestLog).values({ ...rows("candidate", 1, 0)[0]!, requestId: "candidate-last" });
    const pass = await guardSplits(db(), { retentionDays: 30 });
    expect(pass.aborted.map((a) => a.splitId)).toEqual([split.split_id]);
    const after = (await splitOf(baseline))!;
    expect(after.status).toBe("aborted");
    expect(after.end_reason).toContain("candidate error share 25.00 % is 23.00 points above the baseline's 2.00 %");
    expect(after.events[0]).toMatchObject({ kind: "auto_aborted", details: { trigger: "error_share", candidate_error_share: 0.25, baseline_error_share: 0.02, candidate_requests: 40, baseline_requests: 50, threshold_points: 5 } });
    expect(await statusOf(split.candidate.deployment_id)).toBe("stopped");
    // The deployment's own events say it too (the page lists them).
    const events = await db().select({ message: deploymentEvents.message }).from(deploymentEvents).where(eq(deploymentEvents.deploymentId, baseline));
    expect(events.map((e) => e.message).join("\n")).toContain("aborted automatically: all traffic back on version 1 (candidate error share 25.00 %");
  });

  it("prunes the request log past its retention", async () => {
    const [any] = await db().select({ id: deploymentSplits.id, baseline: deploymentSplits.baselineId, candidate: deploymentSplits.candidateId }).from(deploymentSplits).limit(1);
    await db().insert(splitRequestLog).values({ splitId: any!.id, requestId: "old", variant: "baseline", deploymentId: any!.baseline, status: 200, latencyMs: 1, at: new Date(Date.now() - 40 * 86_400_000) });
    await guardSplits(db(), { retentionDays: 30 });
    expect(await db().select().from(splitRequestLog).where(eq(splitRequestLog.requestId, "old"))).toEqual([]);
  });
});

describe("a production split", () => {
  it("waits for approval with the split in its evidence, starts exactly that split, and promotion moves the alias", async () => {
    const asked = await call(deployRoute, { method: "POST", token: mle, params: { name: model }, body: { version: 1, environment: "production", replicas: 1, auto_scale: false } });
    expect(asked.status, JSON.stringify(asked.json)).toBe(202);
    const first = await call(approveRoute, { method: "POST", token: lead, params: { id: (asked.json as { approval_request_id: string }).approval_request_id }, body: { comment: "ok" } });
    const baseline = (first.json as { deployment_id: string }).deployment_id;
    await settleDeployments(db());
    expect(await statusOf(baseline)).toBe("ready");

    // A data scientist may not ask for production splits.
    const refused = await start(baseline, { version: 2, weight: 10 }, ds);
    expect(refused.status).toBe(403);
    const before = await splitCount();
    const res = await start(baseline, { version: 2, weight: 10, sticky: true, abort: { p99_ms: 250, min_requests: 200 }, note: "canary v2" }, mle);
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    const approvalId = (res.json as { approval_request_id: string }).approval_request_id;
    expect(await splitCount()).toBe(before);
    const expected = { baseline_deployment_id: baseline, baseline_version: 1, weight: 10, sticky: true, abort: { error_share_points: null, p99_ms: 250, min_requests: 200 } };
    const approval = await call(approvalRoute, { token: lead, params: { id: approvalId } });
    expect(approval.json).toMatchObject({ status: "pending", version: 2, note: "canary v2", spec: { split: expected }, evidence: { split: expected, candidate: { version: 2 }, current: { version: 1 } } });
    const waiting = await call(getSplitRoute, { token: ds, params: { id: baseline } });
    expect(waiting.json).toMatchObject({ split: null, pending_requests: [{ id: approvalId, version: 2, weight: 10, requested_by: DEMO.mle }] });
    // Nothing is served differently before the decision.
    expect((await infer(mle, "production", 1)).variant).toBe("baseline");

    const approved = await call(approveRoute, { method: "POST", token: lead, params: { id: approvalId }, body: { comment: "go" } });
    expect(approved.status, JSON.stringify(approved.json)).toBe(200);
    const candidate = (approved.json as { deployment_id: string }).deployment_id;
    await settleDeployments(db());
    // The candidate serves beside production: promotion did not replace the baseline with it.
    expect(await statusOf(baseline)).toBe("ready");
    expect(await statusOf(candidate)).toBe("ready");
    const split = (await splitOf(baseline, mle))!;
    expect(split).toMatchObject({ status: "active", approval_id: approvalId, weight: 10, sticky: true, abort: { error_share_points: null, p99_ms: 250, min_requests: 200 }, candidate: { deployment_id: candidate, version: 2 } });
    const [m] = await db().select({ id: registeredModels.id }).from(registeredModels).where(eq(registeredModels.name, model));
    const alias = async () => (await db().select({ version: modelAliases.version }).from(modelAliases).where(and(eq(modelAliases.modelId, m!.id), eq(modelAliases.alias, "production"))))[0]?.version;
    expect(await alias()).toBe(1);

    const promoted = await call(promoteRoute, { method: "POST", token: mle, params: { id: baseline } });
    expect(promoted.status, JSON.stringify(promoted.json)).toBe(200);
    expect(await alias()).toBe(2);
    await settleDeployments(db());
    expect(await statusOf(baseline)).toBe("stopped");
    const r = await infer(mle, "production", 2);
    expect(r).toMatchObject({ status: 200, deployment: candidate, version: "2" });
  });
});
