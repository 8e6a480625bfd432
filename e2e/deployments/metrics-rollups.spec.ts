// Deployment metrics with nothing installed (issue 17): a `next start` with no Prometheus at all (no
// PROMETHEUS_URL, CAIRN_PROMETHEUS=off) on a fresh embedded database; traffic through the gateway to the demo's
// staging churn-classifier; its deployment page then charts request rate, latency and error share from Cairn's
// own per-minute rollups and says so, and the API answers `source: "cairn"`. The suite's own server (which runs a
// managed Prometheus) is not used: this spec starts one of its own on a port beside it.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import type { APIRequestContext } from "@playwright/test";
import { signIn, signInRequest } from "../helpers";

const SUITE_PORT = Number(process.env.E2E_PORT ?? 3210);
// Beside the suite's server (PORT), its OpenID provider (PORT + 89) and the two-processes spec (PORT + 40, + 41).
const PORT = SUITE_PORT + 42;
const URL_ = `http://127.0.0.1:${PORT}`;
const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-no-prometheus-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let child: ChildProcess | null = null;
const output: string[] = [];

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
  });
}

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, ms: number, every = 250): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output.slice(-40).join("\n")}`);
    const value = await check().catch(() => null);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${output.slice(-40).join("\n")}`);
    await sleep(every);
  }
}

async function tokenFor(request: APIRequestContext, email: string, team: string): Promise<string> {
  await signInRequest(request, email);
  const res = await request.post("/api/v1/tokens", { data: { name: `e2e-rollups-${Date.now()}`, team, expires_in_days: 1 }, headers: { origin: URL_ } });
  expect(res.status()).toBe(201);
  return (await res.json()).token as string;
}

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  if (await listening(PORT)) throw new Error(`port ${PORT} is in use; set E2E_PORT so that E2E_PORT + 42 is free`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the suite's own server's configuration: single sign-on, any Prometheus, another port and database.
  for (const key of Object.keys(env)) if (/^(OIDC_|PROMETHEUS_URL$|NEXTAUTH_URL$|DATABASE_URL$|CAIRN_)/.test(key)) delete env[key];
  Object.assign(env, { PORT: String(PORT), CAIRN_DATA_DIR: dataDir, AUTH_TRUST_HOST: "true", NEXTAUTH_SECRET: "no-prometheus-e2e-secret-0123456789", CAIRN_PROMETHEUS: "off" });
  child = spawn(process.execPath, ["node_modules/next/dist/bin/next", "start", "-p", String(PORT)], { cwd: process.cwd(), env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split("\n").filter(Boolean));
    if (output.length > 400) output.splice(0, output.length - 400);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  await until("the server to be up and migrated", async () => {
    const res = await fetch(`${URL_}/api/health`, { signal: AbortSignal.timeout(2000) });
    return ((await res.json()) as { status?: string }).status === "ok";
  }, 180_000);
});

test.afterAll(async () => {
  if (child?.pid) {
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test("the deployment page charts traffic from Cairn's own rollups when no Prometheus is installed", async ({ browser, playwright }) => {
  test.setTimeout(240_000);
  expect(output.join("\n")).toContain("no Prometheus — deployment charts come from Cairn's own per-minute rollups");
  const request = await playwright.request.newContext({ baseURL: URL_ });
  const token = await tokenFor(request, "mle@example.com", "churn");
  const auth = { authorization: `Bearer ${token}` };

  // The demo's staging churn-classifier, brought up by the workers at start. No request is sent before a replica
  // serves (one sent while it starts would be answered 503 and counted as the deployment's error).
  type Listed = { deployment_id: string; model: string; status: string; ready_replicas: number | null };
  const id = await until("the staging deployment to serve", async () => {
    const res = await request.get("/api/v1/deployments?environment=staging&team=churn", { headers: auth });
    const { deployments } = (await res.json()) as { deployments: Listed[] };
    const d = deployments.find((x) => x.model === "churn-classifier" && x.status === "ready" && (x.ready_replicas ?? 0) >= 1);
    return d?.deployment_id;
  }, 120_000);
  const stable = "/serve/churn/churn-classifier/staging";
  const first = await request.get(`${stable}/v2/models/churn-classifier`, { headers: auth });
  expect(first.status()).toBe(200);
  expect(first.headers()["x-cairn-deployment"]).toBe(id);

  // Traffic: 24 predictions, and 6 requests the model refuses (a 4xx is the caller's error, not the deployment's).
  for (let i = 0; i < 24; i++) {
    const res = await request.post(`${stable}/invocations`, { headers: auth, data: { inputs: [Array.from({ length: 11 }, (_, j) => (i + j) % 3)] } });
    expect(res.status()).toBe(200);
  }
  for (let i = 0; i < 6; i++) expect((await request.post(`${stable}/invocations`, { headers: auth, data: { inputs: [[1, 2, 3]] } })).status()).toBe(400);

  // The API: from the rollups, with traffic in it.
  const metrics = await request.get(`/api/v1/deployments/${id}/metrics?window=15m`, { headers: auth });
  expect(metrics.status()).toBe(200);
  const body = (await metrics.json()) as { source: string; notice: string | null; step_seconds: number; series: Record<"requests_per_second" | "latency_p95_ms" | "error_rate", [number, number | null][]> };
  expect(body).toMatchObject({ source: "cairn", notice: null, step_seconds: 60 });
  expect(body.series.requests_per_second.some(([, v]) => (v ?? 0) > 0)).toBe(true);
  expect(body.series.latency_p95_ms.some(([, v]) => v !== null && v > 0)).toBe(true);
  expect(body.series.error_rate.filter(([, v]) => v !== null).every(([, v]) => v === 0)).toBe(true);

  // The page: the charts, and where their figures come from, in words.
  const context = await browser.newContext({ baseURL: URL_ });
  const page = await context.newPage();
  await signIn(page, "mle@example.com");
  await page.goto(`/deployments/${id}`);
  await expect(page.getByRole("heading", { name: /churn-classifier v\d+ · staging/ })).toBeVisible();
  await expect(page.getByText("From Cairn's own per-minute rollups of the gateway's answers (kept 30 days) — a point every 60 s.")).toBeVisible({ timeout: 30_000 });
  await expect(page.getByText(/set PROMETHEUS_URL/)).toHaveCount(0);
  await expect(page.getByRole("figure", { name: "Chart of Requests per second" })).toBeVisible();
  await expect(page.getByRole("figure", { name: "Chart of Latency (gateway, ms)" })).toBeVisible();
  await expect(page.getByRole("figure", { name: "Chart of Error rate (5xx share, %)" })).toBeVisible();
  await expect(page.getByText(/≈ [1-9]\d* requests · worst error rate 0\.0 %/)).toBeVisible();
  // A wider window still answers from the rollups, a point per 12 minutes.
  await page.getByLabel("Window").selectOption("24h");
  await expect(page.getByText("From Cairn's own per-minute rollups of the gateway's answers (kept 30 days) — a point every 12 min.")).toBeVisible();

  // Another team's member: the deployment does not exist for them.
  const foreign = await playwright.request.newContext({ baseURL: URL_ });
  const fraud = await tokenFor(foreign, "ds.fraud@example.com", "fraud");
  expect((await foreign.get(`/api/v1/deployments/${id}/metrics`, { headers: { authorization: `Bearer ${fraud}` } })).status()).toBe(404);
  await context.close();
});
