// The servers of the side-by-side bench (bench.ts): fresh databases, `mlflow server` from a venv (venv.sh) and
// a Cairn server, each in its own process group; and what their processes cost (from /proc).
import { spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { openDatabase } from "@/db/client";
import { tokenFor } from "@/server/testing/actors";
import { option } from "../args";

const PG_URL = option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres");
/** `next`: `next start` on the existing build, as `npm start` runs Cairn; `node`: bench/mlflow/cairn-server.ts. */
const CAIRN_MODE = option("cairn", "next");
const REQUIREMENTS: Record<string, string> = { "2": option("mlflow2", "mlflow==2.12.2 sqlalchemy<2.1"), "3": option("mlflow3", "mlflow>=3,<4") };

/** Directories to remove at the end (MLflow's artifact roots). */
export const tempDirs: string[] = [];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Target = {
  name: string;
  base: string;
  headers: Record<string, string>;
  child: ChildProcess;
  database: string;
  /** Its database was created by this run (always, but with --reuse when the kept run had no such server). */
  fresh: boolean;
  /** How to read a sampled history: Cairn's get-history-sampled, MLflow's get-history-bulk-interval. */
  sampled: (runId: string, key: string) => string;
};

// ---------- processes ----------

function parentOf(pid: string): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]!;
  } catch {
    return null;
  }
}

/** The pid and every descendant of it (gunicorn's workers, next's server). */
export function processTree(root: number): string[] {
  const children = new Map<string, string[]>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    const ppid = parentOf(pid);
    if (ppid) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  }
  const out: string[] = [];
  const walk = (pid: string) => { out.push(pid); for (const c of children.get(pid) ?? []) walk(c); };
  walk(String(root));
  return out;
}

const CLK_TCK = 100;
export function cpuMsOf(pids: string[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      total += ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
    } catch {
      // ended meanwhile
    }
  }
  return total;
}

/** PostgreSQL backends serving `database` (their cmdline names it). */
export function postgresPids(database: string): string[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(` ${database} `);
    } catch {
      return false;
    }
  });
}

export function rssMb(pids: string[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      kb += Number(m?.[1] ?? 0);
    } catch {
      // ended
    }
  }
  return Math.round(kb / 1024);
}

export type CpuMark = { server: number; postgres: Map<string, number> };
export function cpuMark(t: Target): CpuMark {
  const pg = new Map(postgresPids(t.database).map((p) => [p, cpuMsOf([p])]));
  return { server: cpuMsOf(processTree(t.child.pid!)), postgres: pg };
}
export function cpuSinceMark(t: Target, m: CpuMark): { serverMs: number; postgresMs: number } {
  let postgresMs = 0;
  for (const p of postgresPids(t.database)) postgresMs += cpuMsOf([p]) - (m.postgres.get(p) ?? 0);
  return { serverMs: cpuMsOf(processTree(t.child.pid!)) - m.server, postgresMs };
}

// ---------- databases and servers ----------

export async function adminQuery(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

export function dbUrl(name: string): string {
  const u = new URL(PG_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Tracking tables keep no statistics but what the load itself leaves: autovacuum (and its ANALYZE) off. */
async function noAutoAnalyze(name: string): Promise<void> {
  const c = new pg.Client({ connectionString: dbUrl(name) });
  await c.connect();
  try {
    const { rows } = await c.query<{ t: string }>(`select quote_ident(tablename) as t from pg_tables where schemaname = 'public'`);
    for (const { t } of rows) await c.query(`alter table ${t} set (autovacuum_enabled = false)`);
  } finally {
    await c.end();
  }
}

async function waitHealthy(url: string, child: ChildProcess, what: string): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    const ok = await fetch(url).then((r) => r.status < 500, () => false);
    if (ok) return;
    if (i > 900) throw new Error(`${what} did not become healthy`);
    await sleep(200);
  }
}

function logTail(child: ChildProcess): () => string {
  let tail = "";
  const keep = (b: Buffer) => { tail = (tail + b.toString()).slice(-4000); };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return () => tail;
}

async function databaseExists(name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query(`select 1 from pg_database where datname = $1`, [name])).rowCount === 1;
  } finally {
    await c.end();
  }
}

/** A new database, or with `reuse` the one a kept run left (created by this run when that run had no such server). */
async function openBenchDatabase(name: string, reuse: boolean): Promise<boolean> {
  if (reuse && (await databaseExists(name))) return false;
  await adminQuery(`create database ${name}`);
  return true;
}

/** `reuse`: serve the database a kept run left (created and loaded then) instead of a new one. */
export async function startMlflow(version: string, port: number, stamp: string, reuse = false): Promise<Target> {
  const venv = `/tmp/cairn-bench-mlflow-${version}`;
  const setup = spawnSync("bash", [path.join("bench/mlflow/venv.sh"), venv, REQUIREMENTS[version]!], { stdio: "inherit" });
  if (setup.status !== 0) throw new Error(`installing MLflow ${version} failed`);
  const database = `cairn_bench_mlflow${version}_${stamp}`;
  const fresh = await openBenchDatabase(database, reuse);
  try {
    return { ...(await serveMlflow(version, venv, database, port)), fresh };
  } catch (err) {
    if (fresh) await adminQuery(`drop database if exists ${database} with (force)`).catch(() => undefined);
    throw err;
  }
}

async function serveMlflow(version: string, venv: string, database: string, port: number): Promise<Omit<Target, "fresh">> {
  const artifacts = mkdtempSync(path.join(os.tmpdir(), `cairn-bench-mlflow${version}-artifacts-`));
  tempDirs.push(artifacts);
  // The schema first (what the tracking store does on first use), so the server's 4 workers do not race to create it.
  const init = spawnSync(`${venv}/bin/python`, ["-c", "import sys; from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore; SqlAlchemyStore(sys.argv[1], sys.argv[2])", dbUrl(database).replace("postgres://", "postgresql+psycopg2://"), artifacts], { stdio: ["ignore", "ignore", "inherit"] });
  if (init.status !== 0) throw new Error(`creating MLflow ${version}'s schema failed`);
  await noAutoAnalyze(database);
  const child = spawn(`${venv}/bin/mlflow`, [
    "server", "--backend-store-uri", dbUrl(database).replace("postgres://", "postgresql+psycopg2://"), "--artifacts-destination", artifacts,
    "--host", "127.0.0.1", "--port", String(port), "--workers", "4", "--gunicorn-opts", "--timeout 600",
  ], { stdio: ["ignore", "pipe", "pipe"], detached: true });
  const tail = logTail(child);
  try {
    await waitHealthy(`http://127.0.0.1:${port}/health`, child, `mlflow ${version}`);
  } catch (err) {
    console.error(tail());
    throw err;
  }
  const pkg = spawnSync(`${venv}/bin/python`, ["-c", "import mlflow; print(mlflow.__version__)"], { encoding: "utf8" }).stdout.trim();
  return {
    name: `MLflow ${pkg}`, base: `http://127.0.0.1:${port}`, headers: {}, child, database,
    sampled: (runId, key) => `/ajax-api/2.0/mlflow/metrics/get-history-bulk-interval?run_ids=${runId}&metric_key=${key}&max_results=1000`,
  };
}

export async function startCairn(port: number, stamp: string, reuse = false): Promise<Target & { dataDir: string }> {
  const database = `cairn_bench_cairn_${stamp}`;
  const fresh = await openBenchDatabase(database, reuse);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-bench-mlflow-cairn-"));
  const env = { ...process.env, DATABASE_URL: dbUrl(database), CAIRN_DATA_DIR: dataDir, AUTH_TRUST_HOST: "true", NEXTAUTH_SECRET: "bench-mlflow-side-by-side-0123456789", CAIRN_PROMETHEUS: "off", PORT: String(port), NODE_ENV: "production" as const };
  if (CAIRN_MODE === "next" && !existsSync(".next/BUILD_ID")) {
    throw new Error("--cairn next (the default) runs `next start` on a build, and there is none: run `npx next build` first, or pass --cairn node.");
  }
  const args = CAIRN_MODE === "next"
    ? ["node_modules/next/dist/bin/next", "start", "-p", String(port)]
    : ["--import", "tsx", "bench/mlflow/cairn-server.ts", "--port", String(port)];
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const tail = logTail(child);
  try {
    await waitHealthy(`http://127.0.0.1:${port}${CAIRN_MODE === "next" ? "/api/health" : "/health"}`, child, "cairn");
  } catch (err) {
    console.error(tail());
    throw err;
  }
  await noAutoAnalyze(database);
  const { db, close } = await openDatabase({ url: dbUrl(database) });
  const token = await tokenFor(db, "ds@example.com", "churn");
  await close();
  return {
    name: "Cairn", base: `http://127.0.0.1:${port}`, headers: { authorization: `Bearer ${token}` }, child, database, dataDir, fresh,
    sampled: (runId, key) => `/api/2.0/mlflow/metrics/get-history-sampled?run_id=${runId}&metric_key=${key}&max_points=1000`,
  };
}
