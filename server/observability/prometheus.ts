// Prometheus for time series: the one at PROMETHEUS_URL, or — with none configured and the `prometheus`
// binary on PATH — a managed one this process starts, scraping Cairn's own /api/metrics into
// $CAIRN_DATA_DIR/prometheus (31 days kept: the longest window the API answers). Queries go through its
// HTTP API (query_range). The managed one scrapes with the metrics token (a credentials file beside its
// config, readable by this user only), so it reads the labelled exposition. Its port is chosen free just before it starts; should something
// take it in between, the start fails with Prometheus's own message and charts say so.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { AppError } from "../errors";
import { log } from "./log";

export type ManagedPrometheus = { url: string; pid: number; stop: () => Promise<void> };

export type ManagedOptions = {
  binary: string;
  /** Holds prometheus.yml, the TSDB and a pid file. */
  dir: string;
  /** host:port serving /api/metrics. */
  scrapeTarget: string;
  scrapeIntervalSeconds: number;
  /** Sent as `Authorization: Bearer` on every scrape (CAIRN_METRICS_TOKEN): /api/metrics keeps its labels for it. */
  scrapeToken: string;
  retention?: string;
  startTimeoutMs?: number;
};

/** The binary in one of `dirs` (or the path given), or null. */
export function findBinary(name: string, dirs: string[]): string | null {
  if (name.includes("/")) return existsSync(name) ? name : null;
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

/** A loopback port free now (the caller binds it soon after). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A Prometheus an earlier Cairn started on this data dir and did not stop (it was killed): its TSDB lock
 * would refuse the new one. Only a process whose command line names this very data dir is stopped, and
 * we wait until it is gone.
 */
async function stopLeftover(pidFile: string, dataDir: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 1) return;
  const ours = () => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(`--storage.tsdb.path=${dataDir}`);
    } catch {
      return false;
    }
  };
  if (!ours()) return;
  process.kill(pid, "SIGTERM");
  for (let waited = 0; ours() && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
  if (ours()) process.kill(pid, "SIGKILL");
  for (let waited = 0; ours() && waited < 5_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`prometheus exited (${child.exitCode ?? child.signalCode}): ${stderr().trim().slice(-1500)}`);
    try {
      const res = await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  throw new Error(`prometheus did not become ready within ${timeoutMs / 1000} s: ${stderr().trim().slice(-1500)}`);
}

export async function startManagedPrometheus(opts: ManagedOptions): Promise<ManagedPrometheus> {
  mkdirSync(path.join(opts.dir, "data"), { recursive: true });
  const pidFile = path.join(opts.dir, "prometheus.pid");
  const dataDir = path.join(opts.dir, "data");
  await stopLeftover(pidFile, dataDir);
  const config = path.join(opts.dir, "prometheus.yml");
  const credentials = path.join(opts.dir, "scrape-token");
  writeFileSync(credentials, opts.scrapeToken, { mode: 0o600 });
  chmodSync(credentials, 0o600);
  writeFileSync(config, [
    "# Written by Cairn at start-up; edits are replaced.",
    "global:",
    `  scrape_interval: ${opts.scrapeIntervalSeconds}s`,
    `  evaluation_interval: ${opts.scrapeIntervalSeconds}s`,
    "scrape_configs:",
    "  - job_name: cairn",
    "    metrics_path: /api/metrics",
    "    authorization:",
    "      type: Bearer",
    `      credentials_file: ${JSON.stringify(credentials)}`,
    "    static_configs:",
    `      - targets: ["${opts.scrapeTarget}"]`,
    "",
  ].join("\n"));
  const port = await freePort();
  const child = spawn(opts.binary, [
    `--config.file=${config}`, `--storage.tsdb.path=${dataDir}`, `--storage.tsdb.retention.time=${opts.retention ?? "31d"}`,
    `--web.listen-address=127.0.0.1:${port}`, "--log.level=warn",
  ], { stdio: ["ignore", "ignore", "pipe"] });
  // Recorded at once: a Cairn killed while this one starts leaves it findable for the next start.
  writeFileSync(pidFile, String(child.pid));
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => { stderr = (stderr + chunk.toString("utf8")).slice(-8192); });
  // On exit a TERM (Prometheus flushes its head block and exits on its own); SIGKILL only for a failed start.
  const term = () => { try { child.kill("SIGTERM"); } catch { /* gone */ } };
  const kill = () => { try { child.kill("SIGKILL"); } catch { /* gone */ } };
  process.once("exit", term);
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitReady(url, child, opts.startTimeoutMs ?? 20_000, () => stderr);
  } catch (err) {
    kill();
    process.off("exit", term);
    throw err;
  }
  return {
    url,
    pid: child.pid!,
    stop: async () => {
      process.off("exit", term);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const timer = setTimeout(kill, 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** One series of a query_range answer as [unix_seconds, value] (NaN → null); a query that matches nothing → []. */
export async function queryRange(url: string, query: string, range: { start: number; end: number; step: number }): Promise<[number, number | null][]> {
  const params = new URLSearchParams({ query, start: String(range.start), end: String(range.end), step: String(range.step) });
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1/query_range?${params}`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new AppError("upstream_unavailable", `Prometheus at ${url} did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await res.json().catch(() => null)) as { status?: string; error?: string; data?: { result?: { values: [number, string][] }[] } } | null;
  if (!res.ok || body?.status !== "success") throw new AppError("upstream_unavailable", `Prometheus refused the query: ${body?.error ?? `HTTP ${res.status}`}`);
  const first = body.data?.result?.[0];
  return (first?.values ?? []).map(([t, v]) => {
    const n = Number(v);
    return [Number(t), Number.isFinite(n) ? n : null];
  });
}

/** The value of an instant query's first series (NaN → null); a query that matches nothing → null. */
export async function queryInstant(url: string, query: string, at?: number): Promise<number | null> {
  const params = new URLSearchParams({ query, ...(at === undefined ? {} : { time: String(at) }) });
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1/query?${params}`, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new AppError("upstream_unavailable", `Prometheus at ${url} did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await res.json().catch(() => null)) as { status?: string; error?: string; data?: { result?: { value: [number, string] }[] } } | null;
  if (!res.ok || body?.status !== "success") throw new AppError("upstream_unavailable", `Prometheus refused the query: ${body?.error ?? `HTTP ${res.status}`}`);
  const n = Number(body.data?.result?.[0]?.value[1]);
  return Number.isFinite(n) ? n : null;
}

type Registered = { url: string | null; managed: ManagedPrometheus | null; starting: Promise<void> | null; error: string | null };
const globals = globalThis as unknown as { __cairnPrometheus?: Registered };

function registered(): Registered {
  globals.__cairnPrometheus ??= { url: null, managed: null, starting: null, error: null };
  return globals.__cairnPrometheus;
}

/** Whether there is a Prometheus to query now. */
export function prometheusReady(): boolean {
  return registered().url !== null;
}

/** Why there is no Prometheus although one was meant to run (the managed one failed to start), else null. */
export function prometheusProblem(): string | null {
  return registered().error;
}

/** Where to query (PROMETHEUS_URL, or the managed one once ready); refuses with how to get one. */
export function prometheusUrl(): string {
  const r = registered();
  if (r.url) return r.url;
  throw new AppError("upstream_unavailable", r.error
    ? `Metrics over time need Prometheus, and the managed one failed: ${r.error}`
    : r.starting
      ? "Prometheus is still starting; try again in a few seconds."
      : "Metrics over time need Prometheus: set PROMETHEUS_URL, or install the prometheus binary (Debian: apt-get install prometheus) and restart Cairn.");
}

/** Start-up: use PROMETHEUS_URL, or start a managed Prometheus when the binary is there. */
export function connectPrometheus(opts: { url?: string; managed?: ManagedOptions | null }): Promise<void> {
  const r = registered();
  if (opts.url) {
    r.url = opts.url.replace(/\/+$/, "");
    return Promise.resolve();
  }
  if (!opts.managed || r.starting || r.managed) return r.starting ?? Promise.resolve();
  r.starting = startManagedPrometheus(opts.managed).then(
    (m) => {
      r.managed = m;
      r.url = m.url;
      r.error = null;
    },
    (err: unknown) => {
      r.error = err instanceof Error ? err.message : String(err);
      log.error(`managed Prometheus did not start: ${r.error}`);
    },
  ).finally(() => {
    r.starting = null;
  });
  return r.starting;
}

/** Tests and shutdown: stops the managed Prometheus and forgets any URL. */
export async function releasePrometheus(): Promise<void> {
  const r = registered();
  await r.starting;
  await r.managed?.stop();
  globals.__cairnPrometheus = undefined;
}

/** Every series of an instant query: its labels and value (NaN → null). */
export async function queryVector(url: string, query: string, at?: number, timeoutMs = 10_000): Promise<{ labels: Record<string, string>; value: number | null }[]> {
  const params = new URLSearchParams({ query, ...(at === undefined ? {} : { time: String(at) }) });
  let res: Response;
  try {
    res = await fetch(`${url}/api/v1/query?${params}`, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    throw new AppError("upstream_unavailable", `Prometheus at ${url} did not answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  const body = (await res.json().catch(() => null)) as { status?: string; error?: string; data?: { result?: { metric: Record<string, string>; value: [number, string] }[] } } | null;
  if (!res.ok || body?.status !== "success") throw new AppError("upstream_unavailable", `Prometheus refused the query: ${body?.error ?? `HTTP ${res.status}`}`);
  return (body.data?.result ?? []).map((r) => {
    const n = Number(r.value[1]);
    return { labels: r.metric, value: Number.isFinite(n) ? n : null };
  });
}
