// Two `next start` processes on one PostgreSQL database (issue 13): exactly one leads the workers, jobs submitted
// through the other are dispatched by the leader (woken by NOTIFY) and their status changes reach the other's
// event stream; when the leader is killed (SIGKILL, its whole process group) the other takes over within
// seconds, converges the attempt the dead leader left running (stops its process, retries it), and no attempt is
// ever dispatched twice (counted in the database). The suite's own server is not used: this spec starts its own
// two processes on ports beside it, on a database and data directory of its own.
import type { ChildProcess } from "node:child_process";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import type { APIRequestContext } from "@playwright/test";
import pg from "pg";
import { signInRequest } from "../helpers";

const ADMIN_URL = process.env.CAIRN_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SUITE_PORT = Number(process.env.E2E_PORT ?? 3210);
// Beside the suite's server (PORT) and its OpenID provider (PORT + 89).
const PORTS = [SUITE_PORT + 40, SUITE_PORT + 41] as const;
const NODE = process.execPath;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Server = { name: string; port: number; url: string; child: ChildProcess; output: string[] };
type Health = { workers?: "leader" | "follower" | "off"; status?: string };
type StreamEvent = { job_id: string; status: string; attempt: number };
type Job = { job_id: string; status: string; attempt: number; message: string | null };

const servers: Server[] = [];
const dbName = `cairn_e2e_two_${Date.now()}_${randomBytes(3).toString("hex")}`;
const dbUrl = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-two-processes-"));
let dbCreated = false;
let db: pg.Client | null = null;
const jobPids = new Set<number>();

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5432) });
    socket.setTimeout(1000);
    socket.once("connect", () => { socket.destroy(); resolve(true); });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => { socket.destroy(); resolve(false); });
  });
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

function start(name: string, port: number): Server {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // Nothing of the suite's own server's configuration: single sign-on, an outside Prometheus, another port.
  for (const key of Object.keys(env)) if (/^(OIDC_|PROMETHEUS_URL$|NEXTAUTH_URL$|CAIRN_)/.test(key)) delete env[key];
  Object.assign(env, {
    PORT: String(port),
    DATABASE_URL: dbUrl,
    CAIRN_DATA_DIR: dataDir,
    AUTH_TRUST_HOST: "true",
    NEXTAUTH_SECRET: "two-processes-e2e-secret-0123456789",
    CAIRN_LEADER_RETRY_MS: "500",
    CAIRN_SCHEDULER_INTERVAL_MS: "500",
    CAIRN_PROMETHEUS: "off",
  });
  // Its own process group, so the kill takes next's workers with it (the jobs it spawned have groups of their own).
  const child = spawn(NODE, ["node_modules/next/dist/bin/next", "start", "-p", String(port)], { cwd: process.cwd(), env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  const server: Server = { name, port, url: `http://127.0.0.1:${port}`, child, output: [] };
  const keep = (chunk: Buffer) => {
    server.output.push(...chunk.toString().split("\n").filter(Boolean).map((l) => `[${name}] ${l}`));
    if (server.output.length > 400) server.output.splice(0, server.output.length - 400);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  servers.push(server);
  return server;
}

function killGroup(child: ChildProcess): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

async function health(s: Server): Promise<Health | null> {
  try {
    const res = await fetch(`${s.url}/api/health`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Health;
  } catch {
    return null;
  }
}

async function until<T>(what: string, check: () => Promise<T | null | undefined | false>, ms: number, every = 100): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

/** Up, migrated, and its workers started (as leader or follower). */
async function ready(s: Server): Promise<"leader" | "follower"> {
  return until(`${s.name} (port ${s.port}) to be ready`, async () => {
    if (s.child.exitCode !== null) throw new Error(`${s.name} exited with ${s.child.exitCode}:\n${s.output.slice(-40).join("\n")}`);
    const h = await health(s);
    return h?.status === "ok" && (h.workers === "leader" || h.workers === "follower") ? h.workers : null;
  }, 180_000, 250);
}

async function tokenFor(request: APIRequestContext, baseURL: string, email: string, team: string): Promise<string> {
  await signInRequest(request, email);
  const res = await request.post("/api/v1/tokens", { data: { name: `e2e-two-${Date.now()}`, team, expires_in_days: 1 }, headers: { origin: baseURL } });
  expect(res.status()).toBe(201);
  return (await res.json()).token as string;
}

/** Reads a process's job event stream into `events` until aborted. */
function watch(s: Server, token: string, events: StreamEvent[], abort: AbortController): Promise<void> {
  return (async () => {
    const res = await fetch(`${s.url}/api/v1/jobs/events`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const data = /^event: job\ndata: (.*)$/m.exec(block)?.[1];
        if (data) events.push(JSON.parse(data) as StreamEvent);
      }
    }
  })().catch((err: unknown) => {
    if (!abort.signal.aborted) throw err;
  });
}

const SHORT = [NODE, "-e", "console.log('short job done')"];
// Attempt 1 runs until something stops it; attempt 2 (the retry) finishes at once.
const LONG = [NODE, "-e", "if (process.env.CAIRN_JOB_ATTEMPT === '1') setInterval(() => {}, 1000); else console.log('attempt', process.env.CAIRN_JOB_ATTEMPT)"];

test.describe.configure({ mode: "serial" });

test.beforeAll(async () => {
  const up = await reachable(ADMIN_URL);
  if (!up && (process.env.CI || process.env.CAIRN_TEST_REQUIRE_PG === "1")) throw new Error(`PostgreSQL is not reachable at ${ADMIN_URL}`);
  test.skip(!up, `PostgreSQL is not reachable at ${ADMIN_URL}`);
  for (const port of PORTS) {
    const used = await reachable(`http://127.0.0.1:${port}`);
    if (used) throw new Error(`port ${port} is in use; set E2E_PORT so that E2E_PORT + 40 and + 41 are free`);
  }
  await admin((c) => c.query(`create database ${dbName}`));
  dbCreated = true;
});

test.afterAll(async () => {
  for (const s of servers) killGroup(s.child);
  // An attempt the test left behind (on failure): its process group too.
  for (const pid of jobPids) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  await db?.end().catch(() => undefined);
  if (dbCreated) await admin((c) => c.query(`drop database if exists ${dbName} with (force)`)).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

test.afterEach(async ({}, info) => {
  if (info.status !== info.expectedStatus) {
    for (const s of servers) await info.attach(`${s.name} output`, { body: s.output.join("\n"), contentType: "text/plain" });
  }
});

test("one leads, the other takes over within seconds when it dies, and no job is dispatched twice", async ({ playwright }) => {
  test.setTimeout(420_000);
  // The first process migrates and seeds the demo organization before the second starts, so the seed does not race.
  const first = start("first", PORTS[0]);
  expect(await ready(first)).toBe("leader");
  const second = start("second", PORTS[1]);
  expect(await ready(second)).toBe("follower");
  // A few of the follower's campaigns later, still exactly one leader.
  await sleep(2000);
  expect((await health(first))?.workers).toBe("leader");
  expect((await health(second))?.workers).toBe("follower");
  const [leader, follower] = [first, second];

  db = new pg.Client({ connectionString: dbUrl });
  await db.connect();

  // Everything goes through the follower: its submits only commit intent; the leader dispatches.
  const session = await playwright.request.newContext({ baseURL: follower.url });
  const token = await tokenFor(session, follower.url, "ds@example.com", "churn");
  const api = await playwright.request.newContext({ baseURL: follower.url, extraHTTPHeaders: { authorization: `Bearer ${token}` } });
  const created = await api.post("/api/v1/experiments", { data: { name: `two-processes-${Date.now()}`, team: "churn" } });
  expect(created.status(), await created.text()).toBe(201);
  const experimentId = (await created.json()).experiment_id as string;

  const streamed: StreamEvent[] = [];
  const abort = new AbortController();
  const streaming = watch(follower, token, streamed, abort);
  await sleep(300);

  async function submit(command: string[], extra: Record<string, unknown> = {}): Promise<string> {
    const res = await api.post(`/api/v1/experiments/${experimentId}/train`, { data: { command, instance_type: "cpu.small", max_runtime_seconds: 120, ...extra } });
    expect(res.status(), await res.text()).toBe(202);
    return (await res.json()).job_id as string;
  }
  async function job(id: string): Promise<Job> {
    const res = await api.get(`/api/v1/jobs/${id}`);
    expect(res.status()).toBe(200);
    return (await res.json()) as Job;
  }
  const finished = (id: string) => until(`job ${id} to finish`, async () => {
    const j = await job(id);
    return ["succeeded", "failed", "cancelled"].includes(j.status) ? j : null;
  }, 60_000, 200);

  // Short jobs through the follower: the leader, woken by NOTIFY, runs them.
  const shorts = await Promise.all([submit(SHORT), submit(SHORT), submit(SHORT)]);
  for (const id of shorts) expect(await finished(id)).toMatchObject({ status: "succeeded", attempt: 1 });
  // The follower's event stream heard the leader's changes (admitted, running, succeeded) as they committed.
  await until("the follower's stream to show the short jobs succeeded", async () => shorts.every((id) => streamed.some((e) => e.job_id === id && e.status === "succeeded")), 10_000);

  // Inference through the follower: replicas run in the leader, so the follower passes the request there (the
  // demo's production churn-classifier, brought up by the leader's reconciler).
  const stable = "/serve/churn/churn-classifier/production";
  const metadata = await until("the follower to answer inference through the leader", async () => {
    const res = await api.get(`${stable}/v2/models/churn-classifier`);
    return res.status() === 200 ? res : null;
  }, 60_000, 250);
  expect(metadata.headers()["x-cairn-deployment"]).toMatch(/^[0-9a-f-]{36}$/);
  expect((await metadata.json()).name).toBe("churn-classifier");
  const foreign = await playwright.request.newContext({ baseURL: follower.url });
  const fraudToken = await tokenFor(foreign, follower.url, "ds.fraud@example.com", "fraud");
  const refused = await api.get(`${stable}/v2/health/ready`, { headers: { authorization: `Bearer ${fraudToken}` } });
  expect(refused.status()).toBe(404);

  // A long job, running in the leader's care; then the leader dies.
  const long = await submit(LONG, { retries: 1, max_runtime_seconds: 600 });
  const running = await until("the long job's first attempt to run", async () => {
    const { rows } = await db!.query<{ ref: string | null; status: string }>("select backend_ref as ref, status from jobs where id = $1", [long]);
    const pid = Number(/^pid:(\d+):/.exec(rows[0]?.ref ?? "")?.[1]);
    return rows[0]?.status === "running" && pid > 0 ? pid : null;
  }, 60_000, 100);
  jobPids.add(running);
  expect(alive(running)).toBe(true);

  const killedAt = Date.now();
  killGroup(leader.child);
  await until("the old leader to exit", async () => leader.child.exitCode !== null || leader.child.signalCode !== null, 10_000, 20);
  await until("the follower to lead", async () => (await health(follower))?.workers === "leader", 30_000, 50);
  const takeoverMs = Date.now() - killedAt;
  console.log(`[two-processes] takeover: ${takeoverMs} ms after SIGKILL of the leader`);
  test.info().annotations.push({ type: "takeover_ms", description: String(takeoverMs) });
  expect(takeoverMs).toBeLessThan(10_000);

  // The new leader converged the attempt the dead one left: its process stopped, then retried as attempt 2.
  const longDone = await finished(long);
  expect(longDone).toMatchObject({ status: "succeeded", attempt: 2 });
  expect(alive(running)).toBe(false);

  // The new leader brought the live deployments up again: the stable address answers on it, now served locally.
  await until("the new leader to serve inference", async () => {
    const res = await api.get(`${stable}/v2/models/churn-classifier`);
    return res.status() === 200 ? res : null;
  }, 60_000, 250);

  // New work runs on the new leader.
  const after = await Promise.all([submit(SHORT), submit(SHORT)]);
  for (const id of after) expect(await finished(id)).toMatchObject({ status: "succeeded", attempt: 1 });

  // From the database: every attempt was dispatched once ("running" once per attempt), with the attempts expected.
  const all = [...shorts, long, ...after];
  const { rows: dispatches } = await db.query<{ job_id: string; attempt: number; n: number }>(
    "select job_id, attempt, count(*)::int as n from job_events where status = 'running' and job_id = any($1::uuid[]) group by job_id, attempt order by job_id, attempt",
    [all],
  );
  const expected = all.flatMap((id) => (id === long ? [1, 2] : [1]).map((attempt) => ({ job_id: id, attempt, n: 1 })));
  const byJob = (a: { job_id: string; attempt: number }, b: { job_id: string; attempt: number }) => a.job_id.localeCompare(b.job_id) || a.attempt - b.attempt;
  expect(dispatches.sort(byJob)).toEqual(expected.sort(byJob));
  const { rows: twice } = await db.query("select job_id, attempt from job_events where status = 'running' group by job_id, attempt having count(*) > 1");
  expect(twice).toEqual([]);
  const { rows: retried } = await db.query<{ message: string }>("select message from job_events where job_id = $1 and status = 'queued' and attempt = 1", [long]);
  expect(retried.map((r) => r.message)).toEqual([expect.stringContaining("Cairn restarted while attempt 1 was running")]);

  // The follower's stream (then the leader's own) carried each job's changes exactly once, as the database
  // recorded them: the first leader's through PostgreSQL, its own in process.
  await sleep(500);
  abort.abort();
  await streaming;
  for (const id of all) {
    const { rows } = await db.query<{ status: string; attempt: number }>("select status, attempt from job_events where job_id = $1 order by id", [id]);
    const seen = streamed.filter((e) => e.job_id === id).map((e) => `${e.status}/${e.attempt}`);
    expect(seen, `stream of job ${id}`).toEqual(rows.map((r) => `${r.status}/${r.attempt}`));
  }

  for (const c of [session, api]) await c.dispose();
});
