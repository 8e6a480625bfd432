// GET /api/v1/platform/health: admins only (everyone else 403, audited; anonymous 401), a bad window 400; the
// API's requests by endpoint template, the queue, active users, storage and GPUs — from Cairn's own rollups
// without Prometheus, and from a real Prometheus (the Debian binary CI installs) scraping /api/metrics with one.
import http from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { auditEvents } from "@/db/schema";
import { GET as exposeMetrics } from "@/app/api/metrics/route";
import { GET as meGET } from "@/app/api/v1/me/route";
import type { PlatformHealth } from "@/lib/schemas/platform";
import { metricsToken } from "@/server/env";
import { AppError } from "@/server/errors";
import { flushApiRollups, resetApiRollups } from "@/server/observability/api-rollups";
import { connectPrometheus, findBinary, prometheusUrl, releasePrometheus } from "@/server/observability/prometheus";
import { platformHealth } from "@/server/platform/health";
import { DEMO, call, ctxFor, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { flushDenials } from "@/server/audit/denials";
import { GET as healthGET } from "./health/route";

const db = demoDatabase();
const UUID = "3f2b6c1e-9a4d-4e2b-8c1f-0a1b2c3d4e5f";

describe("platform health (admins)", () => {
  beforeAll(() => resetApiRollups());

  it("answers an admin from Cairn's own rollups, with the requests just made by endpoint template", async () => {
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    for (let i = 0; i < 3; i++) expect((await call(meGET, { token: ds })).status).toBe(200);
    expect((await call(meGET)).status).toBe(401);
    // Half of the minutes written, half still in this process: both count.
    await flushApiRollups(db());
    expect((await call(meGET, { token: ds })).status).toBe(200);
    const admin = await tokenFor(db(), DEMO.admin, "churn");
    const r = await call(healthGET, { token: admin, path: "/api/v1/platform/health?window=15m" });
    expect(r.status).toBe(200);
    const h = r.json as PlatformHealth;
    expect(h).toMatchObject({ window: "15m", source: "cairn", notice: null, step_seconds: 60 });
    const me = h.api.endpoints.find((e) => e.endpoint === "/api/v1/me" && e.method === "GET");
    expect(me).toMatchObject({ requests: 5, errors: 0, client_errors: 1 });
    expect(me!.latency_p50_ms).toBeGreaterThan(0);
    expect(h.api.requests).toBeGreaterThanOrEqual(5);
    expect(h.api.series.requests_per_second.some(([, v]) => (v ?? 0) > 0)).toBe(true);
    expect(h.api.series.requests_per_second).toHaveLength(16);
    expect(JSON.stringify(h.api.endpoints)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    // The data scientist's requests made them active.
    expect(h.active_users.last_15m).toBeGreaterThanOrEqual(1);
    expect(h.active_users.last_hour).toBeGreaterThanOrEqual(h.active_users.last_15m);
    expect(h.queue.depth).toBeGreaterThanOrEqual(0);
    expect(h.storage.filter((s) => s.team === "churn").map((s) => s.type).sort()).toEqual(["artifacts", "code_archives", "pinned_versions"]);
    expect(h.gpus.teams.map((g) => g.team)).toEqual(expect.arrayContaining(["churn", "fraud", "vision"]));
  });

  it("refuses everyone but admins: 403 for each team role and another team's lead (audited), 401 anonymous", async () => {
    for (const email of [DEMO.ds, DEMO.mle, DEMO.lead, DEMO.leadFraud]) {
      const token = await tokenFor(db(), email, email === DEMO.leadFraud ? "fraud" : "churn");
      const r = await call(healthGET, { token, path: "/api/v1/platform/health" });
      expect(r.status).toBe(403);
      expect(r.json).toMatchObject({ error: { code: "forbidden", message: expect.stringMatching(/platform admins/) } });
      expect(JSON.stringify(r.json)).not.toContain("/api/v1/me");
    }
    expect((await call(healthGET, { path: "/api/v1/platform/health" })).status).toBe(401);
    const ctx = await ctxFor(db(), DEMO.ds);
    await expect(platformHealth(ctx)).rejects.toSatisfy((e) => e instanceof AppError && e.code === "forbidden");
    await flushDenials(db());
    const refused = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "platform.health.read"), eq(auditEvents.outcome, "denied")));
    // Refusals repeated before the audit write are one row with a `repeated` count (server/audit/denials.ts).
    expect(refused.reduce((n, e) => n + (Number((e.details as { repeated?: number }).repeated) || 1), 0)).toBeGreaterThanOrEqual(5);
  });

  it("answers a window it cannot read with 400 and how to fix it", async () => {
    const admin = await tokenFor(db(), DEMO.admin, "churn");
    for (const window of ["1y", "2m", "abc", "31d"]) {
      const r = await call(healthGET, { token: admin, path: `/api/v1/platform/health?window=${window}` });
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ error: { code: "invalid_input", message: expect.stringMatching(/5m to 30d/) } });
    }
  });

  it("counts a raw id in a path under its template, never as itself", async () => {
    const admin = await tokenFor(db(), DEMO.admin, "churn");
    // The catch-all answers unknown API paths; what the wrapper counts is the route's pattern.
    const { GET: catchAll } = await import("@/app/api/v1/[...path]/route");
    await call(catchAll, { token: admin, path: `/api/v1/nope/${UUID}`, params: { path: ["nope", UUID] } });
    const h = (await call(healthGET, { token: admin, path: "/api/v1/platform/health?window=5m" })).json as PlatformHealth;
    expect(JSON.stringify(h)).not.toContain(UUID);
  });
});

const binary = findBinary("prometheus", (process.env.PATH ?? "").split(path.delimiter).filter(Boolean));

describe.skipIf(!binary)("platform health from Prometheus", () => {
  let exposition: http.Server;
  let dir = "";

  beforeAll(async () => {
    exposition = http.createServer((req, res) => {
      const headers = new Headers();
      if (req.headers.authorization) headers.set("authorization", req.headers.authorization);
      void exposeMetrics(new Request("http://localhost/api/metrics", { headers }))
        .then(async (r) => res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "text/plain" }).end(await r.text()));
    });
    await new Promise<void>((r) => exposition.listen(0, "127.0.0.1", r));
    dir = mkdtempSync(path.join(os.tmpdir(), "cairn-prometheus-"));
    await connectPrometheus({ managed: { binary: binary!, dir, scrapeTarget: `127.0.0.1:${(exposition.address() as AddressInfo).port}`, scrapeIntervalSeconds: 1, scrapeToken: metricsToken() } });
  });

  afterAll(async () => {
    await releasePrometheus();
    await new Promise((r) => exposition?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("answers from the series Prometheus scraped, and says so", async () => {
    const url = prometheusUrl();
    for (const until = Date.now() + 20_000; Date.now() < until;) {
      const up = (await (await fetch(`${url}/api/v1/query?query=up`)).json()) as { data: { result: { value: [number, string] }[] } };
      if (up.data.result[0]?.value[1] === "1") break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const ds = await tokenFor(db(), DEMO.ds, "churn");
    for (let i = 0; i < 20; i++) {
      await call(meGET, { token: ds });
      await new Promise((r) => setTimeout(r, 100));
    }
    const ctx = await ctxFor(db(), DEMO.admin);
    let h: PlatformHealth | undefined;
    for (const until = Date.now() + 20_000; Date.now() < until; await new Promise((r) => setTimeout(r, 500))) {
      h = await platformHealth(ctx, { window: "5m", scrapeSeconds: 1 });
      const counted = (h.api.endpoints.find((e) => e.endpoint === "/api/v1/me")?.requests ?? 0) >= 10;
      if (counted && h.storage.length > 0 && h.api.series.requests_per_second.some(([, v]) => (v ?? 0) > 0)) break;
    }
    expect(h!.source).toBe("prometheus");
    expect(h!.notice).toBeNull();
    const me = h!.api.endpoints.find((e) => e.endpoint === "/api/v1/me" && e.method === "GET");
    expect(me!.requests).toBeGreaterThanOrEqual(10);
    expect(me!.latency_p50_ms).toBeGreaterThan(0);
    expect(h!.api.series.requests_per_second.some(([, v]) => (v ?? 0) > 0)).toBe(true);
    expect(h!.storage.filter((s) => s.team === "churn").map((s) => s.type).sort()).toEqual(["artifacts", "code_archives", "pinned_versions"]);
    expect(h!.gpus.teams.map((g) => g.team)).toEqual(expect.arrayContaining(["churn"]));
    expect(h!.active_users.last_15m).toBeGreaterThanOrEqual(1);
  });

  it("falls back to Cairn's own rollups, and says so, when the configured Prometheus does not answer", async () => {
    await releasePrometheus();
    await connectPrometheus({ url: "http://127.0.0.1:9" });
    const h = await platformHealth(await ctxFor(db(), DEMO.admin), { window: "15m" });
    expect(h).toMatchObject({ source: "cairn", notice: expect.stringMatching(/Prometheus did not answer/) });
    expect(h.notice).not.toMatch(/127\.0\.0\.1/);
    expect(h.api.endpoints.find((e) => e.endpoint === "/api/v1/me")!.requests).toBeGreaterThanOrEqual(20);
  });
});
