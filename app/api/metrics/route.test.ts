import { describe, expect, it } from "vitest";
import { GET as healthGET } from "@/app/api/health/route";
import { GET as catchAll } from "@/app/api/v1/[...path]/route";
import { GET as meGET } from "@/app/api/v1/me/route";
import { GET as openapiGET } from "@/app/api/v1/openapi.json/route";
import { metricsToken } from "@/server/env";
import { observeInference, observeQueueWait, platformMetrics } from "@/server/observability/metrics";
import { forgetGaugeReads } from "@/server/observability/platform-gauges";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { submitJob } from "@/server/jobs/service";
import { createExperiment } from "@/server/tracking/experiments";
import { GET as metricsGET } from "./route";

const db = demoDatabase();

describe("health, metrics and the API document", () => {
  it("reports the database reachable and migrations current", async () => {
    const r = await call(healthGET);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ status: "ok", db: "ok", migrations: { current: true } });
  });

  it("exposes platform_* metrics in Prometheus text format, labelled for the scrape token", async () => {
    await call(meGET);
    const token = await tokenFor(db(), DEMO.ds, "churn");
    await call(meGET, { token });
    const r = await call(metricsGET, { token: metricsToken() });
    expect(r.status).toBe(200);
    expect(r.response.headers.get("content-type")).toContain("text/plain");
    const text = r.json as string;
    expect(text).toContain('platform_api_requests_total{endpoint="/api/v1/me",method="GET",status="401"}');
    expect(text).toContain('platform_api_requests_total{endpoint="/api/v1/me",method="GET",status="200"}');
    expect(text).toMatch(/platform_api_latency_seconds_bucket\{le="[\d.]+",endpoint="\/api\/v1\/me"\}/);
    expect(text).toMatch(/platform_active_users\{team="churn"\} [1-9]/);
    expect(text).toMatch(/platform_active_users\{team="vision"\} 0/);
    expect(text).toMatch(/platform_info\{version="[^"]+",db_backend="(pglite|postgres)",compute_backend="local"\} 1/);
  });

  it("exports the platform's state: jobs by status, the queue, live deployments, storage and GPUs by team", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const { experiment_id: exp } = await createExperiment(ctx, { name: `metrics-queue-${Date.now()}`, team: "churn" });
    const read = async () => {
      forgetGaugeReads(); // the gauges' reads are shared for 5 s between scrapes
      return (await call(metricsGET, { token: metricsToken() })).json as string;
    };
    const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} ([\\d.e+-]+)$`, "m").exec(text)?.[1] ?? Number.NaN);
    const before = await read();
    await submitJob(ctx, exp, trainJobSchema.parse({ command: ["true"], instance_type: "cpu.small" }));
    const after = await read();
    expect(value(after, 'platform_training_jobs_total{team="churn",status="queued"}')).toBe(value(before, 'platform_training_jobs_total{team="churn",status="queued"}') + 1);
    expect(value(after, 'platform_job_queue_depth{team="churn"}')).toBeGreaterThanOrEqual(1);
    expect(value(after, 'platform_job_queue_depth{team="vision"}')).toBe(0);
    expect(value(after, 'platform_job_queue_oldest_wait_seconds{team="churn"}')).toBeGreaterThanOrEqual(0);
    expect(value(after, 'platform_training_jobs_total{team="vision",status="failed"}')).toBeGreaterThanOrEqual(0);
    for (const env of ["staging", "production"]) expect(value(after, `platform_active_deployments{team="fraud",environment="${env}"}`)).toBeGreaterThanOrEqual(0);
    for (const type of ["artifacts", "code_archives", "pinned_versions"]) expect(value(after, `platform_storage_usage_bytes{team="churn",type="${type}"}`)).toBeGreaterThanOrEqual(0);
    expect(after).toMatch(/^platform_gpu_allocated\{team="churn",node="[^"]+"\} 0$/m);
    expect(after).toContain("# TYPE platform_job_queue_wait_seconds histogram");
    // The public exposition sums them over teams.
    forgetGaugeReads();
    const open = (await call(metricsGET)).json as string;
    expect(open).not.toContain('team="churn"');
    expect(open).toMatch(/^platform_job_queue_depth [1-9]/m);
  });

  it("exports each of the brief's platform metrics with exactly its label names", async () => {
    const expected: Record<string, string[]> = {
      platform_training_jobs_total: ["status", "team"],
      platform_active_deployments: ["environment", "team"],
      platform_gpu_utilization: ["node", "team"],
      platform_gpu_utilization_info: ["node", "source", "team"],
      platform_gpu_allocated: ["node", "team"],
      platform_storage_usage_bytes: ["team", "type"],
      platform_job_queue_depth: ["team"],
      platform_job_queue_oldest_wait_seconds: ["team"],
      platform_job_queue_wait_seconds: ["team"],
      platform_api_requests_total: ["endpoint", "method", "status"],
      platform_api_latency_seconds: ["endpoint"],
      platform_active_users: ["team"],
    };
    // Declared so in the registry (platform_gpu_utilization and its _info have no series on a host without GPUs)…
    const registry = platformMetrics().registry;
    for (const [name, labels] of Object.entries(expected)) {
      const metric = registry.getSingleMetric(name) as unknown as { labelNames?: string[] } | undefined;
      expect(metric, name).toBeDefined();
      expect([...(metric!.labelNames ?? [])].sort(), name).toEqual(labels);
    }
    // …and so in every series the scrape token reads (a histogram's "le" aside).
    observeQueueWait("churn", 3);
    await call(meGET, { token: await tokenFor(db(), DEMO.ds, "churn") });
    forgetGaugeReads();
    const text = (await call(metricsGET, { token: metricsToken() })).json as string;
    const seen = new Map<string, Set<string>>();
    for (const line of text.split("\n")) {
      const m = /^([a-z_]+?)(?:_bucket|_sum|_count)?(?:\{(.*)\})? [^ ]+$/.exec(line);
      if (!m || !(m[1]! in expected)) continue;
      const names = [...(m[2] ?? "").matchAll(/([a-z_]+)="/g)].map((x) => x[1]!).filter((n) => n !== "le").sort().join(",");
      (seen.get(m[1]!) ?? seen.set(m[1]!, new Set()).get(m[1]!)!).add(names);
    }
    for (const [name, labels] of Object.entries(expected)) {
      if ((name === "platform_gpu_utilization" || name === "platform_gpu_utilization_info") && !seen.has(name)) continue;
      expect([...(seen.get(name) ?? [])], name).toEqual([labels.join(",")]);
    }
    expect(text).toMatch(/^platform_job_queue_wait_seconds_count\{team="churn"\} [1-9]/m);
  });

  it("answers anyone else without team, user or deployment labels, summed over them", async () => {
    const deployment = "d7e3c0de-0000-4000-8000-00000000abcd";
    observeInference("churn", deployment, 200, 0.02);
    observeInference("fraud", "d7e3c0de-0000-4000-8000-00000000ef01", 200, 0.03);
    observeInference("churn", deployment, 503, 0.01);
    const dsToken = await tokenFor(db(), DEMO.ds, "churn");
    await call(meGET, { token: dsToken });
    for (const credentials of [{}, { token: dsToken }]) {
      const r = await call(metricsGET, credentials);
      expect(r.status).toBe(200);
      const text = r.json as string;
      for (const secret of ["churn", "fraud", "vision", deployment, "team=", "deployment=", "user=", "@example.com"]) expect(text).not.toContain(secret);
      expect(text).toMatch(/platform_inference_requests_total\{status="200"\} 2\n/);
      expect(text).toMatch(/platform_inference_requests_total\{status="503"\} 1\n/);
      expect(text).toMatch(/platform_inference_latency_seconds_count 3\n/);
      expect(text).toMatch(/platform_inference_latency_seconds_bucket\{le="0.025"\} 2\n/);
      expect(text).toMatch(/platform_active_users [1-9]/);
      expect(text).toContain('platform_api_requests_total{endpoint="/api/v1/me",method="GET",status="200"}');
    }
    // An admin's API token sees the labels, like the scrape token.
    const admin = await call(metricsGET, { token: await tokenFor(db(), DEMO.admin, "churn") });
    expect(admin.json as string).toContain(`platform_inference_requests_total{team="churn",deployment="${deployment}",status="200"} 1`);
  });

  it("answers 401 to a bearer that is neither the scrape token nor a valid API token", async () => {
    for (const token of ["wrong-scrape-token-0123456789", "cairn_notarealtoken0000000000000000000000"]) {
      const r = await call(metricsGET, { token });
      expect(r.status).toBe(401);
      expect(r.json).toMatchObject({ error: { code: "unauthenticated" } });
    }
    expect((await call(metricsGET, { headers: { authorization: "Bearer" } })).status).toBe(401);
  });

  it("answers unknown API paths with a JSON 404 in the error shape", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const r = await call(catchAll, { token, path: "/api/v1/nope", params: { path: "nope" } });
    expect(r.status).toBe(404);
    expect(r.json).toMatchObject({ error: { code: "not_found", request_id: expect.any(String) } });
  });

  it("serves the OpenAPI document built from the zod schemas", async () => {
    const r = await call(openapiGET);
    const doc = r.json as { openapi: string; paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> } }>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/api/v1/me", "/api/v1/tokens", "/api/v1/teams/{slug}", "/api/v1/audit/verify"]));
    expect(Object.keys(doc.paths["/api/v1/tokens"]!.post!.requestBody!.content["application/json"]!.schema.properties)).toEqual(["name", "team", "expires_in_days"]);
  });
});
