// Tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT, the default): no provider is registered, nothing is exported
// even with a receiver listening, requests and job dispatch work as before, and errors and log lines still
// carry a request id to correlate them.
import { trace } from "@opentelemetry/api";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobs } from "@/db/schema";
import { GET as teamGET } from "@/app/api/v1/teams/[slug]/route";
import { POST as trainPOST } from "@/app/api/v1/experiments/[id]/train/route";
import { env } from "@/server/env";
import { createExperiment } from "@/server/tracking/experiments";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { isFinal, waitForJob } from "@/server/jobs/testing/wait";
import { logRecord } from "@/server/observability/log";
import { startOtlpReceiver } from "@/server/observability/testing/otlp-receiver";
import type { OtlpReceiver } from "@/server/observability/testing/otlp-receiver";
import { activeTracing, startTracing } from "@/server/observability/tracing-setup";
import { currentTraceIds, tracingEnabled, withSpan } from "@/server/observability/tracing";

let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

const db = demoDatabase();

describe("tracing off", () => {
  it("registers nothing when no endpoint is configured", async () => {
    expect(env().tracing.endpoint).toBeUndefined();
    expect(await startTracing()).toBeNull();
    expect(await startTracing({ headers: {}, serviceName: "cairn" })).toBeNull();
    expect(activeTracing()).toBeNull();
    expect(tracingEnabled()).toBe(false);
    // The API's global provider is the no-op one: spans record nothing.
    expect(trace.getTracer("cairn").startSpan("probe").isRecording()).toBe(false);
    await withSpan("probe", {}, async (span) => {
      expect(span.isRecording()).toBe(false);
      expect(currentTraceIds()).toBeNull();
    });
  });

  it("answers requests and dispatches jobs as before, with request ids but no trace ids, and exports nothing", async () => {
    const token = await tokenFor(db(), DEMO.lead, "churn");
    const ok = await call(teamGET, { path: "/api/v1/teams/churn", token, params: { slug: "churn" } });
    expect(ok.status).toBe(200);
    expect(ok.response.headers.get("x-trace-id")).toBeNull();
    expect(ok.response.headers.get("x-request-id")).toBeTruthy();

    const missing = await call(teamGET, { path: "/api/v1/teams/no-such-team", token, params: { slug: "no-such-team" } });
    expect(missing.status).toBe(404);
    const error = (missing.json as { error: Record<string, unknown> }).error;
    expect(error).toMatchObject({ code: "not_found", request_id: missing.response.headers.get("x-request-id") });
    expect(error).not.toHaveProperty("trace_id");

    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = await createExperiment(ctx, { name: `untraced-${Date.now()}`, team: "churn" });
    const res = await call(trainPOST, {
      method: "POST", path: `/api/v1/experiments/${exp.experiment_id}/train`, token: await tokenFor(db(), DEMO.ds, "churn"), params: { id: exp.experiment_id },
      body: { command: [process.execPath, "-e", "0"], instance_type: "cpu.small", max_runtime_seconds: 60 },
    });
    expect(res.status).toBe(202);
    const jobId = (res.json as { job_id: string }).job_id;
    const [row] = await db().select({ spec: jobs.spec }).from(jobs).where(eq(jobs.id, jobId));
    expect(row!.spec).not.toHaveProperty("traceparent");
    expect((await waitForJob(db(), jobId, isFinal)).status).toBe("succeeded");

    // A log line still names its request.
    expect(logRecord("error", "request failed", { request_id: "req-2" })).toEqual({ time: expect.any(String), level: "error", msg: "request failed", request_id: "req-2" });
    // Nothing was sent (a batch exporter would have posted within its 5 s delay; there is none to post).
    await new Promise((r) => setTimeout(r, 300));
    expect(receiver.requests).toBe(0);
  });
});
