// Tracing on: Cairn's spans reach a real OTLP/HTTP receiver through the real exporter — an API request with
// its database queries as children, the trace id in error answers and log lines, and one trace from a job's
// submit through the scheduler's dispatch to the compute backend's start.
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { deployments, jobs, modelVersions, registeredModels } from "@/db/schema";
import { GET as teamGET } from "@/app/api/v1/teams/[slug]/route";
import { POST as trainPOST } from "@/app/api/v1/experiments/[id]/train/route";
import { GET as serveGET, POST as servePOST } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { POST as deployPOST } from "@/app/api/v1/models/[name]/deploy/route";
import { stopAllReplicas } from "@/server/deployments/runtime";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { settleDeployments } from "@/server/workers/testing";
import { previewJobAction } from "@/app/(portal)/(members)/jobs/actions";
import { errorResponse } from "@/server/http/errors";
import { createExperiment } from "@/server/tracking/experiments";
import { createModel, newRun, putRunFile, registerVersion, runWithModel, unique } from "@/server/registry/test-helpers";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { isFinal, waitForJob } from "@/server/jobs/testing/wait";
import { log, logRecord } from "@/server/observability/log";
import { startOtlpReceiver } from "@/server/observability/testing/otlp-receiver";
import type { OtlpReceiver, ReceivedSpan } from "@/server/observability/testing/otlp-receiver";
import { startTracing } from "@/server/observability/tracing-setup";
import type { Tracing } from "@/server/observability/tracing-setup";
import { tracingEnabled, withSpan } from "@/server/observability/tracing";

// Log lines as a log collector reads them: one JSON object a line.
vi.stubEnv("CAIRN_LOG_FORMAT", "json");
// The page context safeAction resolves (a signed-in member), as Next would give it.
const session = vi.hoisted(() => ({ ctx: null as unknown }));
vi.mock("@/server/auth/session", () => ({ getPageCtx: async () => session.ctx }));
vi.mock("next/cache", () => ({ revalidatePath: () => undefined, refresh: () => undefined }));

let receiver: OtlpReceiver;
let tracing: Tracing;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  const started = await startTracing({ endpoint: `${receiver.url}/v1/traces`, headers: {}, serviceName: "cairn" }, { version: "test" });
  if (!started) throw new Error("tracing did not start");
  tracing = started;
});

afterAll(async () => {
  await stopAllReplicas();
  await tracing?.shutdown();
  await receiver?.close();
});

const db = demoDatabase();

/** Sends what has ended, then the spans of trace `traceId` as the receiver holds them. */
async function received(traceId: string): Promise<ReceivedSpan[]> {
  await tracing.flush();
  return receiver.spans.filter((s) => s.traceId === traceId);
}

const SERVER = 2;

describe("tracing on", () => {
  it("exports an API request's span, named by its route template, with its database queries as children", async () => {
    expect(tracingEnabled()).toBe(true);
    const token = await tokenFor(db(), DEMO.lead, "churn");
    const res = await call(teamGET, { path: "/api/v1/teams/churn", token, params: { slug: "churn" } });
    expect(res.status).toBe(200);
    const traceId = res.response.headers.get("x-trace-id");
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const spans = await received(traceId!);
    const api = spans.find((s) => s.name === "GET /api/v1/teams/[slug]");
    expect(api).toMatchObject({
      kind: SERVER, parentSpanId: null,
      attributes: expect.objectContaining({ "http.route": "/api/v1/teams/[slug]", "http.request.method": "GET", "http.response.status_code": 200, "cairn.team": "churn" }),
      resource: expect.objectContaining({ "service.name": "cairn", "service.version": "test" }),
    });
    const queries = spans.filter((s) => s.attributes["db.system"] === "postgresql");
    expect(queries.length).toBeGreaterThan(0);
    // The team's own lookup, at least, is a direct child of the request's span.
    expect(queries.some((q) => q.parentSpanId === api!.spanId)).toBe(true);
    for (const q of queries) {
      expect(q.name).toMatch(/^db [A-Z]+$/);
      expect(typeof q.attributes["db.statement"]).toBe("string");
      // Statements only: the values bound to them (the team's slug, the token) are never exported.
      expect(q.attributes["db.statement"]).not.toContain("churn");
      expect(q.attributes["db.statement"]).not.toContain(token);
      expect(String(q.attributes["db.statement"]).length).toBeLessThanOrEqual(1001);
    }
  });

  it("puts the trace id the receiver saw in an error answer (body and header) and in log lines", async () => {
    const token = await tokenFor(db(), DEMO.lead, "churn");
    const res = await call(teamGET, { path: "/api/v1/teams/no-such-team", token, params: { slug: "no-such-team" } });
    expect(res.status).toBe(404);
    const error = (res.json as { error: { code: string; request_id: string; trace_id: string } }).error;
    expect(error.code).toBe("not_found");
    expect(error.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(res.response.headers.get("x-trace-id")).toBe(error.trace_id);
    const api = (await received(error.trace_id)).find((s) => s.name === "GET /api/v1/teams/[slug]");
    expect(api?.attributes).toMatchObject({ "http.response.status_code": 404, "cairn.request_id": error.request_id });

    // A log line written inside traced work names the span it belongs to.
    const logged = await withSpan("log-check", {}, async () => logRecord("error", "something failed", { request_id: "req-1", err: new Error("boom") }));
    expect(logged).toMatchObject({ level: "error", msg: "something failed", request_id: "req-1", trace_id: expect.stringMatching(/^[0-9a-f]{32}$/), span_id: expect.stringMatching(/^[0-9a-f]{16}$/), error: { message: "boom" } });
    const span = (await received(logged.trace_id as string)).find((s) => s.name === "log-check");
    expect(span?.spanId).toBe(logged.span_id);
  });

  it("follows a job from its submit through the scheduler's dispatch to the backend's start in one trace", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = await createExperiment(ctx, { name: `traced-${Date.now()}`, team: "churn" });
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const res = await call(trainPOST, {
      method: "POST", path: `/api/v1/experiments/${exp.experiment_id}/train`, token, params: { id: exp.experiment_id },
      body: { command: [process.execPath, "-e", "0"], instance_type: "cpu.small", max_runtime_seconds: 60 },
    });
    expect(res.status).toBe(202);
    const jobId = (res.json as { job_id: string }).job_id;
    const traceId = res.response.headers.get("x-trace-id")!;
    // The trace context is stored with the job: the worker that dispatches it may be another process, later.
    const [row] = await db().select({ spec: jobs.spec }).from(jobs).where(eq(jobs.id, jobId));
    expect(row!.spec.traceparent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    // The scheduler's passes run outside any request (as the worker does).
    const done = await waitForJob(db(), jobId, isFinal);
    expect(done.status).toBe("succeeded");

    const spans = await received(traceId);
    const byName = (name: string) => spans.find((s) => s.name === name);
    const api = byName("POST /api/v1/experiments/[id]/train");
    const submit = byName("job.submit");
    const dispatch = byName("job.dispatch");
    const start = byName("compute.start");
    expect(api && submit && dispatch && start).toBeTruthy();
    expect(submit!.parentSpanId).toBe(api!.spanId);
    expect(submit!.attributes).toMatchObject({ "cairn.job.id": jobId, "cairn.team": "churn" });
    expect(dispatch!.parentSpanId).toBe(submit!.spanId);
    expect(dispatch!.attributes).toMatchObject({ "cairn.job.id": jobId, "cairn.job.attempt": 1, "cairn.compute.backend": "local" });
    expect(start!.parentSpanId).toBe(dispatch!.spanId);
    // The dispatch's own statements (claiming the job, minting its token) are in the trace; the job's insert is under the submit.
    expect(spans.some((s) => s.parentSpanId === dispatch!.spanId && s.attributes["db.system"] === "postgresql")).toBe(true);
    expect(spans.some((s) => s.parentSpanId === submit!.spanId && /^insert into "jobs"/i.test(String(s.attributes["db.statement"])))).toBe(true);
    // A scheduler pass belongs to no request: its queue reads (admission's and dispatch's) did not join the trace.
    expect(spans.some((s) => String(s.attributes["db.statement"]).includes('order by "jobs"."priority" desc'))).toBe(false);
    // Nor did the attempt's exit (recorded when the process ended): the job's later life is not its start.
    expect(spans.some((s) => /^update "jobs" set "status" = \$1, "finished_at" = \$2/.test(String(s.attributes["db.statement"])))).toBe(false);
  });

  it("traces a gateway request under the route template, with the deployment it reached", async () => {
    // A staging deployment row of a version of churn's; no replica runs in tests, so the gateway answers 503.
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const name = unique("traced-model");
    await createModel(token, name);
    await registerVersion(token, name, await runWithModel(token, "traced"));
    const [version] = await db().select({ teamId: registeredModels.teamId, modelId: registeredModels.id, versionId: modelVersions.id, version: modelVersions.version })
      .from(registeredModels).innerJoin(modelVersions, eq(modelVersions.modelId, registeredModels.id)).where(eq(registeredModels.name, name));
    const [deployment] = await db().insert(deployments).values({
      teamId: version!.teamId, modelId: version!.modelId, versionId: version!.versionId, modelName: name, version: version!.version, environment: "staging", status: "ready",
      replicas: 1, autoScale: false, minReplicas: 1, maxReplicas: 1, traffic: 100, backend: "local", origin: "tracing test", createdByEmail: DEMO.ds,
    }).returning({ id: deployments.id });
    const res = await call(serveGET as never, {
      path: `/serve/churn/${deployment!.id}/v2/health/ready`, token,
      params: { team: "churn", deployment: deployment!.id, path: ["v2", "health", "ready"] },
    });
    expect(res.status).toBe(503);
    const traceId = res.response.headers.get("x-trace-id");
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    const span = (await received(traceId!)).find((s) => s.name === "GET /serve/[team]/[deployment]");
    expect(span).toMatchObject({
      kind: SERVER,
      attributes: expect.objectContaining({
        "http.route": "/serve/[team]/[deployment]/[...path]", "http.response.status_code": 503, "cairn.team": "churn",
        "cairn.deployment.id": deployment!.id, "cairn.model.name": name, "cairn.model.version": version!.version, "cairn.variant": "pinned",
        "cairn.request_id": res.response.headers.get("x-request-id"),
      }),
    });
    // A 5xx answer marks the span as failed (OTLP status code 2: error).
    expect(span!.statusCode).toBe(2);
  });

  it("traces a served inference: the deployment, version and variant that answered, and the replica's share as a child", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const at = await newRun(token, "traced-serving");
    await putRunFile(token, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
    const name = unique("traced-serving");
    await createModel(token, name);
    await registerVersion(token, name, at);
    const deployed = await call(deployPOST, { method: "POST", token, params: { name }, body: { version: 1, environment: "staging", replicas: 1, auto_scale: false } });
    expect(deployed.status).toBe(201);
    const id = (deployed.json as { deployment_id: string }).deployment_id;
    await settleDeployments(db());
    const res = await call(servePOST as never, { method: "POST", token, params: { team: "churn", deployment: id, path: ["invocations"] }, body: { inputs: [[1, 2]] } });
    expect(res.status).toBe(200);
    const spans = await received(res.response.headers.get("x-trace-id")!);
    const gateway = spans.find((s) => s.name === "POST /serve/[team]/[deployment]");
    expect(gateway?.attributes).toMatchObject({ "http.response.status_code": 200, "cairn.team": "churn", "cairn.deployment.id": id, "cairn.model.name": name, "cairn.model.version": 1, "cairn.variant": "pinned" });
    const replica = spans.find((s) => s.name === "replica call");
    expect(replica).toMatchObject({ parentSpanId: gateway!.spanId, kind: 3, attributes: expect.objectContaining({ "cairn.deployment.id": id, "url.path": "/invocations", "http.response.status_code": 200 }) });
  });

  it("traces a server action by its name, with its queries as children", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    session.ctx = ctx;
    const exp = await createExperiment(ctx, { name: `action-${Date.now()}`, team: "churn" });
    let traceId: string | undefined;
    const result = await withSpan("page request", {}, async (span) => {
      traceId = span.spanContext().traceId;
      return previewJobAction({ experimentId: exp.experiment_id, spec: { command: ["true"], instance_type: "cpu.small" } });
    });
    expect(result.ok).toBe(true);
    const spans = await received(traceId!);
    const action = spans.find((s) => s.name === "action previewJobAction");
    expect(action?.attributes).toMatchObject({ "cairn.action": "previewJobAction", "cairn.request_id": ctx.request.id });
    expect(spans.some((s) => s.parentSpanId === action!.spanId && s.attributes["db.system"] === "postgresql")).toBe(true);
  });

  it("records an action's not-found answer (Next's interrupt) as an answer, not a failure", async () => {
    session.ctx = await ctxFor(db(), DEMO.ds);
    let traceId: string | undefined;
    await expect(withSpan("page request", {}, async (span) => {
      traceId = span.spanContext().traceId;
      return previewJobAction({ experimentId: "999999999", spec: { command: ["true"], instance_type: "cpu.small" } });
    })).rejects.toMatchObject({ digest: "NEXT_HTTP_ERROR_FALLBACK;404" });
    const action = (await received(traceId!)).find((s) => s.name === "action previewJobAction");
    expect(action?.attributes["cairn.interrupt"]).toBe("NEXT_HTTP_ERROR_FALLBACK;404");
    expect(action?.statusCode).toBe(0);
  });

  it("writes an unexpected error's log line as JSON naming the request and trace its 500 answer names", async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((line: unknown) => { lines.push(String(line)); });
    try {
      const res = await withSpan("GET /api/v1/things", {}, async () => errorResponse(new Error("disk on fire"), "req-500"));
      expect(res.status).toBe(500);
      const body = (await res.json()) as { error: { code: string; request_id: string; trace_id: string } };
      expect(body.error).toMatchObject({ code: "internal", request_id: "req-500", trace_id: expect.stringMatching(/^[0-9a-f]{32}$/) });
      expect(body.error.trace_id).toBe(res.headers.get("x-trace-id"));
      log.error("a second line");
      expect(lines).toHaveLength(2);
      const first = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(first).toMatchObject({ level: "error", msg: "request failed", request_id: "req-500", trace_id: body.error.trace_id, span_id: expect.stringMatching(/^[0-9a-f]{16}$/), error: { name: "Error", message: "disk on fire" } });
      expect(new Date(String(first.time)).getTime()).toBeGreaterThan(Date.now() - 60_000);
      // Outside any span: no trace ids, the line is still one JSON object.
      expect(JSON.parse(lines[1]!)).toEqual({ time: expect.any(String), level: "error", msg: "a second line" });
    } finally {
      spy.mockRestore();
    }
    const span = (await received(JSON.parse(lines[0]!).trace_id as string)).find((s) => s.name === "GET /api/v1/things");
    expect(span?.spanId).toBe(JSON.parse(lines[0]!).span_id);
  });
});
