// Serving side by side (PostgreSQL, local backend): the churn example's model (examples/churn/train.mjs, ONNX)
// registered in Cairn and deployed to staging with one replica, then called three ways over loopback with the
// same MLflow body:
//   gateway  — Cairn's inference gateway (its fast lane as a running server has it in front of Next, or with
//              --door route the /serve route handler as Next calls it; behind node:http, in this process) on the
//              model's stable address, with a team token and drift sampling at --sample-rate;
//   replica  — the same replica called directly (its loopback port and the replicas' shared secret): what the
//              gateway adds is gateway − replica;
//   mlflow   — `mlflow models serve --env-manager local` (one worker) of the same MLflow model directory, from the
//              venv bench/mlflow/venv.sh makes (onnx and onnxruntime added to it).
// The load comes from a child process (its CPU is not this event loop's): --clients closed-loop keep-alive
// clients, each sending one request, waiting for the answer, sending the next. Targets take turns in rounds
// (warm-up, then --seconds each), so a neighbour's burst on a shared machine does not land on one target only.
// With --rate R[,R2…], paced phases follow: the same clients offer R requests per second in all on a fixed
// schedule (open loop), latency counted from the scheduled send when a late answer held the send back — the
// gateway's added latency below saturation, where the closed-loop p50 is mostly queueing. Each phase prints the
// server's CPU time per request (the gateway row: this process alone), comparable on a busy machine.
//
//   npx tsx bench/serving.ts [--seconds 10] [--clients 32] [--sample-rate 0.1] [--mlflow 2|3|none] [--rounds 3]
//                            [--warmup 2] [--single-seconds 3] [--rate 1000,2000] [--paced-seconds 10]
//                            [--cpu-prof gateway.cpuprofile] [--door lane|route] [--pg-url …] [--out bench/serving-results.json]
import { fork, spawn, spawnSync } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { count, eq } from "drizzle-orm";
import { option } from "./args";
import { summarize, round } from "./stats";

const SECONDS = Number(option("seconds", "10"));
const CLIENTS = Number(option("clients", "32"));
const SAMPLE_RATE = Number(option("sample-rate", "0.1"));
const MLFLOW = option("mlflow", "2");
const ROUNDS = Number(option("rounds", "3"));
const WARMUP = Number(option("warmup", "2"));
/** After the rounds: this many seconds per target with one client (latency without queueing); 0 skips it. */
const SINGLE = Number(option("single-seconds", "3"));
const PG_URL = option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres");
const OUT = option("out", "bench/serving-results.json");
/** Which door of the gateway: `lane` (the fast lane a running server answers /serve/… with) or `route` (the route handler). */
const DOOR = option("door", "lane");
/**
 * Paced phases after the closed-loop rounds: `--rate 1000,2000` runs each target at each offered load (requests per
 * second over all --clients clients, open loop), --rounds rounds of --paced-seconds; none by default.
 */
const RATES = option("rate", "").split(",").filter((x) => x.trim() !== "").map(Number);
const PACED_SECONDS = Number(option("paced-seconds", String(SECONDS)));
/** A CPU profile (.cpuprofile, Chrome DevTools' format) of this process — the gateway — over round 1's gateway phase. */
const CPU_PROF = option("cpu-prof", "");
/** Which targets run (comma-separated; gateway and replica by default, mlflow with --mlflow 2|3). */
const ONLY = option("targets", "gateway,replica,mlflow").split(",").map((x) => x.trim());
for (const r of RATES) if (!Number.isFinite(r) || r <= 0) throw new Error(`--rate takes positive requests per second, comma-separated (e.g. 1000,2000); got ${option("rate", "")}`);
const MLFLOW_REQUIREMENTS: Record<string, string> = { "2": "mlflow==2.12.2 sqlalchemy<2.1", "3": "mlflow>=3,<4" };
/** What MLflow's ONNX flavor needs beside it (MLflow 2.12 wants protobuf < 5, which the newest onnx does not take). */
const ONNX_REQUIREMENTS: Record<string, string[]> = { "2": ["onnx<1.17", "protobuf<5", "onnxruntime", "numpy<2"], "3": ["onnx", "onnxruntime"] };

/** `rate`: paced (open loop) at this many requests per second in all; absent: closed loop. */
type Job = { url: string; headers: Record<string, string>; body: string; seconds: number; clients: number; rate?: number };
/**
 * `latencies`: from the send (closed loop); paced, from the scheduled send time when the client's previous answer
 * came after it (a stall of the server counts in full — no coordinated omission), else from the send. `service`: from
 * the actual send, paced only. Paced sends: `heldSends` waited for a previous answer past their scheduled time
 * (their latency counts from that time); `lateSends` left over 1 ms late for the load generator's own reasons
 * (its timers; counted from the actual send — a health figure of the load generator, not the server's).
 */
type Outcome = { requests: number; errors: number; firstError: string; wallMs: number; latencies: number[]; service: number[]; lateSends: number; heldSends: number };

// ---------- the load generator (the child process) ----------

async function loadChild(job: Job): Promise<Outcome> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: job.clients });
  const target = new URL(job.url);
  const body = Buffer.from(job.body);
  const headers = { ...job.headers, "content-type": "application/json", "content-length": String(body.length) };
  const latencies: number[] = [];
  const service: number[] = [];
  let errors = 0;
  let firstError = "";
  let lateSends = 0;
  let heldSends = 0;
  /** One request; its latency counted from `from` (a paced send held back by a late answer) or else from the send. */
  const one = (from: number | null, paced = false) => new Promise<void>((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: target.hostname, port: target.port, path: target.pathname, method: "POST", headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const t1 = performance.now();
        latencies.push(t1 - (from ?? t0));
        if (paced) service.push(t1 - t0);
        if (res.statusCode !== 200) {
          errors++;
          if (!firstError) firstError = `${res.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`;
        }
        resolve();
      });
    });
    req.on("error", (err) => {
      errors++;
      if (!firstError) firstError = String(err);
      resolve();
    });
    req.end(body);
  });
  const started = performance.now();
  const until = started + job.seconds * 1000;
  const rate = job.rate;
  await Promise.all(Array.from({ length: job.clients }, async (_, i) => {
    if (rate === undefined) {
      while (performance.now() < until) await one(null);
      return;
    }
    // Paced: client i sends at started + (i + k·clients) / rate, k = 0, 1, …; together the clients offer `rate`
    // requests per second, evenly spaced. A client whose previous answer came late sends at once, and the wait
    // it was held counts in the next answer's latency (measured from the scheduled time).
    // The load generator's own timer lateness (setTimeout wakes up to a millisecond or so late) is not the
    // server's: when the previous answer came in time, latency counts from the actual send.
    const every = (job.clients / rate) * 1000;
    let previousEnd = 0;
    for (let at = started + (i / rate) * 1000; at < until; at += every) {
      const wait = at - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const held = previousEnd > at;
      if (held) heldSends++;
      else if (performance.now() - at > 1) lateSends++;
      await one(held ? at : null, true);
      previousEnd = performance.now();
    }
  }));
  const wallMs = performance.now() - started;
  agent.destroy();
  return { requests: latencies.length, errors, firstError, wallMs, latencies, service, lateSends, heldSends };
}

if (process.argv.includes("--load-child")) {
  process.on("message", (job: Job) => {
    void loadChild(job).then((outcome) => process.send!(outcome, () => process.exit(0)));
  });
}

/** One timed phase against `url`, the load from a fresh child process. */
function drive(job: Job): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = fork(path.resolve("bench/serving.ts"), ["--load-child"], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
    child.once("message", (m) => resolve(m as Outcome));
    child.once("error", reject);
    child.once("exit", (code) => { if (code !== 0) reject(new Error(`the load generator exited with ${code}`)); });
    child.send(job);
  });
}

// ---------- the servers ----------

/**
 * The gateway behind a plain HTTP server on loopback: its fast lane as a running server has it in front of Next
 * (server/deployments/gateway-http.ts), or (--door route) the route handler as Next calls it (app/serve/…/route.ts).
 */
async function gatewayServer(): Promise<http.Server> {
  if (DOOR === "lane") {
    const { handleGatewayHttp } = await import("@/server/deployments/gateway-http");
    const lane = http.createServer((req, res) => {
      if (handleGatewayHttp(req, res)) return;
      res.writeHead(404);
      res.end();
    });
    lane.keepAliveTimeout = 60_000;
    return new Promise((resolve) => lane.listen(0, "127.0.0.1", () => resolve(lane)));
  }
  if (DOOR !== "route") throw new Error(`--door must be lane or route, not ${DOOR}`);
  const { POST } = await import("@/app/serve/[team]/[deployment]/[...path]/route");
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [, , team = "", deployment = "", ...rest] = (req.url ?? "").split("?")[0]!.split("/");
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const request = new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
      void POST(request, { params: Promise.resolve({ team, deployment, path: rest }) })
        .then(async (answer) => {
          const body = Buffer.from(await answer.arrayBuffer());
          res.writeHead(answer.status, { "content-type": answer.headers.get("content-type") ?? "application/json", "content-length": body.length });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
    });
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = http.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

async function waitHealthy(url: string, child: ChildProcess, what: string, tail: () => string): Promise<void> {
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${tail()}`);
    if (await fetch(url).then((r) => r.status === 200, () => false)) return;
    if (i > 600) throw new Error(`${what} did not become healthy:\n${tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** `mlflow models serve` of the MLflow model directory, one worker, in its own process group. */
async function startMlflowServe(version: string, modelDir: string): Promise<{ child: ChildProcess; url: string; name: string }> {
  const venv = `/tmp/cairn-bench-mlflow-${version}`;
  const setup = spawnSync("bash", ["bench/mlflow/venv.sh", venv, MLFLOW_REQUIREMENTS[version]!], { stdio: "inherit" });
  if (setup.status !== 0) throw new Error(`installing MLflow ${version} failed`);
  // The ONNX flavor loads the model with onnx and runs it with onnxruntime.
  const has = spawnSync(`${venv}/bin/python`, ["-c", "import mlflow.onnx, onnxruntime"], { stdio: "ignore" });
  if (has.status !== 0) {
    const pip = spawnSync(`${venv}/bin/pip`, ["install", "--quiet", ...ONNX_REQUIREMENTS[version]!], { stdio: "inherit" });
    if (pip.status !== 0) throw new Error("installing onnx and onnxruntime into the MLflow venv failed");
  }
  const port = await freePort();
  // mlflow runs gunicorn from PATH: the venv's bin first.
  const child = spawn("bash", ["-c", `PATH="$0/bin:$PATH" exec "$0/bin/mlflow" models serve -m "$1" --env-manager local -h 127.0.0.1 -p "$2" -w 1`, venv, modelDir, String(port)], {
    stdio: ["ignore", "pipe", "pipe"], detached: true,
  });
  let tail = "";
  const keep = (b: Buffer) => { tail = (tail + b.toString()).slice(-4000); };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  await waitHealthy(`http://127.0.0.1:${port}/health`, child, `mlflow ${version} models serve`, () => tail);
  const pkg = spawnSync(`${venv}/bin/python`, ["-c", "import mlflow; print(mlflow.__version__)"], { encoding: "utf8" }).stdout.trim();
  return { child, url: `http://127.0.0.1:${port}/invocations`, name: `mlflow ${pkg} models serve` };
}

function stopGroup(child: ChildProcess | undefined): void {
  if (!child?.pid || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    // already gone
  }
}

// ---------- the machine ----------

function machineFacts(): Record<string, unknown> {
  const cpus = os.cpus();
  return { cpus: cpus.length, model: cpus[0]?.model ?? "?", memoryGb: round(os.totalmem() / 2 ** 30, 1), node: process.version, load: os.loadavg().map((x) => round(x, 2)) };
}

/** Busy CPU seconds of the whole machine (/proc/stat) and of one process tree (/proc/<pid>/stat). */
function machineBusy(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / 100;
}
function treeCpu(root: number): number {
  const parent = new Map<string, string>();
  const cpu = new Map<string, number>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parent.set(pid, fields[1]!);
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // ended meanwhile
    }
  }
  let total = 0;
  for (const [pid, seconds] of cpu) {
    for (let p: string | undefined = pid; p; p = parent.get(p)) {
      if (p === String(root)) { total += seconds; break; }
      if (p === "1" || p === "0") break;
    }
  }
  return total;
}

// ---------- the bench ----------

type Target = { key: "gateway" | "replica" | "mlflow"; name: string; url: string; headers: Record<string, string>; serverPid: number | null };
/**
 * One timed phase. `serverCpuUsPerRequest`: CPU time of the target's server process per request (the gateway row:
 * this process alone, the gateway's own work — its replica's in `replicaCpuUsPerRequest`), comparable across runs
 * on a busy machine where req/s is not. Paced phases (`rate`) add the service time's p50 and the send counts.
 */
type Phase = {
  round: number; target: string; rate: number | null; requests: number; errors: number; rps: number; p50: number; p99: number; machineCores: number; serverCores: number | null; postgresCores: number | null;
  serverCpuUsPerRequest: number | null; replicaCpuUsPerRequest: number | null; serviceP50?: number; heldSends?: number; lateSends?: number;
};

async function main(): Promise<void> {
  const { cpuCalibration, cpuSince, cpuSnapshot } = await import("./cpu");
  const { createBenchDatabase, ctxFor, tokenFor } = await import("./db");
  const { deployModel } = await import("@/server/approvals/deploy");
  const { deploymentRuntime, stopAllReplicas } = await import("@/server/deployments/runtime");
  const { setSampleRate } = await import("@/server/drift/service");
  const { flushInferenceSamples } = await import("@/server/drift/sampler");
  const { createModel, newRun, putRunFile, registerVersion } = await import("@/server/registry/test-helpers");
  const { inferenceSamples } = await import("@/db/schema");
  const { settleDeployments } = await import("@/server/workers/testing");
  const { routeCache, startRouteCache, stopRouteCache } = await import("@/server/deployments/route-cache");

  const calibrationMs = cpuCalibration();
  const machine = machineFacts();
  console.log(`machine: ${machine.cpus} cpus (${machine.model}), node ${machine.node}, load ${(machine.load as number[]).join(" ")}; calibration ${calibrationMs} ms (lower is faster)`);

  // The churn example's model: trained offline into a temporary directory (MLflow's model format plus the reference profile).
  const work = mkdtempSync(path.join(os.tmpdir(), "cairn-bench-serving-"));
  const trained = spawnSync(process.execPath, [path.resolve("examples/churn/train.mjs"), "--epochs", "5", "--epoch-delay-ms", "0", "--output-dir", path.join(work, "out")], { cwd: work, encoding: "utf8" });
  if (trained.status !== 0) throw new Error(`training the churn example failed:\n${trained.stdout}${trained.stderr}`);
  const modelDir = path.join(work, "out", "model");
  const profile = JSON.parse(readFileSync(path.join(work, "out", "reference", "profile.json"), "utf8")) as { features: { name: string }[] };
  // One customer from the model's input example, in MLflow's tf-serving row format ({"inputs": [[…11 values]]}): the
  // format its input_example.json has. `dataframe_split` with the feature names is what Cairn's replica also takes,
  // but MLflow refuses it for this model (its signature is one float32 tensor "features", not named columns).
  const example = JSON.parse(readFileSync(path.join(modelDir, "input_example.json"), "utf8")) as { inputs: number[][] };
  const body = JSON.stringify({ inputs: [example.inputs[0]!] });
  if (example.inputs[0]!.length !== profile.features.length) throw new Error("the input example and the profile disagree on the features");

  const bench = await createBenchDatabase(PG_URL);
  const { db } = bench;
  const runtime = deploymentRuntime();
  let gateway: http.Server | undefined;
  let mlflow: { child: ChildProcess; url: string; name: string } | undefined;
  try {
    const token = await tokenFor(db, "ds@example.com", "churn");
    const run = await newRun(token, "bench-serving");
    for (const file of readdirSync(modelDir)) await putRunFile(token, run, `model/${file}`, new Uint8Array(readFileSync(path.join(modelDir, file))));
    await putRunFile(token, run, "reference/profile.json", readFileSync(path.join(work, "out", "reference", "profile.json"), "utf8"));
    await createModel(token, "churn-serving");
    await registerVersion(token, "churn-serving", run);
    const ctx = await ctxFor(db, "ds@example.com");
    const { deployment_id: id } = await deployModel(ctx, "churn-serving", { version: 1, environment: "staging", replicas: 1, auto_scale: false, traffic: 100 });
    // The worker's reconciler brings the replica up (as `npm start` does in the background).
    await settleDeployments(db);
    await runtime.settled(id);
    if (runtime.readyReplicas(id) !== 1) throw new Error(`the deployment ${id} has no ready replica`);
    await setSampleRate(ctx, id, { sample_rate: SAMPLE_RATE });
    // As `npm start` does: the gateway keeps its routes in memory, dropped when the database announces a change.
    await startRouteCache(db, { backend: "postgres", url: bench.url });
    gateway = await gatewayServer();
    const replicaBase = runtime.pick(id)!;
    const replicaPid = findReplicaPid();

    const targets: Target[] = [
      { key: "gateway", name: `Cairn gateway (${DOOR === "lane" ? "fast lane" : "route handler"}) → replica (sampling ${SAMPLE_RATE})`, url: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/serve/churn/churn-serving/staging/invocations`, headers: { authorization: `Bearer ${token}` }, serverPid: null },
      { key: "replica", name: "replica called directly", url: `${replicaBase}/invocations`, headers: runtime.replicaHeaders(), serverPid: replicaPid },
    ];
    for (const t of [...targets]) if (!ONLY.includes(t.key)) targets.splice(targets.indexOf(t), 1);
    let mlflowNote: string | null = null;
    if (MLFLOW !== "none" && ONLY.includes("mlflow")) {
      try {
        mlflow = await startMlflowServe(MLFLOW, modelDir);
        targets.push({ key: "mlflow", name: mlflow.name, url: mlflow.url, headers: {}, serverPid: mlflow.child.pid! });
      } catch (err) {
        mlflowNote = `MLflow serving did not start: ${String(err).slice(0, 600)}`;
        console.log(mlflowNote);
      }
    }
    // Every target answers the body before it is timed.
    for (const t of targets) {
      const res = await fetch(t.url, { method: "POST", headers: { ...t.headers, "content-type": "application/json" }, body });
      const text = await res.text();
      console.log(`${t.key}: ${res.status} ${text.slice(0, 160)}`);
      if (res.status !== 200) throw new Error(`${t.name} refused the body: ${res.status} ${text.slice(0, 300)}`);
    }
    const samplesBefore = (await db.select({ n: count() }).from(inferenceSamples).where(eq(inferenceSamples.deploymentId, id)))[0]!.n;

    console.log(`\n${CLIENTS} clients, ${ROUNDS} rounds of ${SECONDS} s per target (after ${WARMUP} s warm-up each)`);
    const phases: Phase[] = [];
    let gatewayWarmups = 0;
    type Merged = { latencies: number[]; service: number[]; requests: number; errors: number; wallMs: number; firstError: string; gatewayCpuMs: number; serverCpuMs: number; held: number; late: number };
    // Merged figures per target (closed loop) and per target and rate (paced).
    const all = new Map<string, Merged>();
    const profiler = CPU_PROF ? await startProfiler() : null;
    /** One warm-up and one timed phase of `t` (closed loop, or paced at `rate`). */
    const timed = async (t: Target, r: number, rate: number | null): Promise<void> => {
      const seconds = rate === null ? SECONDS : PACED_SECONDS;
      const warm = await drive({ url: t.url, headers: t.headers, body, seconds: WARMUP, clients: CLIENTS, ...(rate !== null ? { rate } : {}) });
      if (t.key === "gateway") gatewayWarmups += warm.requests;
      const profiling = profiler !== null && t.key === "gateway" && r === 1 && rate === null;
      if (profiling) await profiler.start();
      const busy0 = machineBusy();
      const server0 = t.key === "gateway" ? cpuSnapshot(bench.name) : null;
      const tree0 = t.serverPid !== null ? treeCpu(t.serverPid) : 0;
      const replica0 = t.key === "gateway" && replicaPid !== null ? treeCpu(replicaPid) : 0;
      const o = await drive({ url: t.url, headers: t.headers, body, seconds, clients: CLIENTS, ...(rate !== null ? { rate } : {}) });
      const wallS = o.wallMs / 1000;
      let serverCores: number | null = null;
      let postgresCores: number | null = null;
      let serverCpuMs = 0;
      let gatewayCpuMs = 0;
      if (t.key === "gateway") {
        // This process (the gateway) and its replica; the PostgreSQL backends of the bench's database apart.
        const share = cpuSince(server0!, bench.name);
        gatewayCpuMs = share.nodeMs;
        serverCpuMs = replicaPid !== null ? (treeCpu(replicaPid) - replica0) * 1000 : 0;
        serverCores = round(share.nodeCores + serverCpuMs / 1000 / wallS);
        postgresCores = share.postgresCores;
      } else if (t.serverPid !== null) {
        serverCpuMs = (treeCpu(t.serverPid) - tree0) * 1000;
        serverCores = round(serverCpuMs / 1000 / wallS);
      }
      if (profiling) await profiler.stop(CPU_PROF);
      const s = summarize(o.latencies);
      const perRequest = (ms: number) => (o.requests > 0 ? Math.round((ms * 1000) / o.requests) : null);
      const phase: Phase = {
        round: r, target: t.key, rate, requests: o.requests, errors: o.errors, rps: Math.round(o.requests / wallS), p50: s.p50, p99: s.p99, machineCores: round((machineBusy() - busy0) / wallS), serverCores, postgresCores,
        serverCpuUsPerRequest: t.key === "gateway" ? perRequest(gatewayCpuMs) : t.serverPid !== null ? perRequest(serverCpuMs) : null,
        replicaCpuUsPerRequest: t.key === "gateway" && replicaPid !== null ? perRequest(serverCpuMs) : null,
        ...(rate !== null ? { serviceP50: summarize(o.service).p50, heldSends: o.heldSends, lateSends: o.lateSends } : {}),
      };
      phases.push(phase);
      const key = rate === null ? t.key : `${t.key}@${rate}`;
      const acc = all.get(key) ?? { latencies: [], service: [], requests: 0, errors: 0, wallMs: 0, firstError: "", gatewayCpuMs: 0, serverCpuMs: 0, held: 0, late: 0 };
      for (const l of o.latencies) acc.latencies.push(l);
      for (const l of o.service) acc.service.push(l);
      acc.requests += o.requests;
      acc.errors += o.errors;
      acc.wallMs += o.wallMs;
      acc.gatewayCpuMs += gatewayCpuMs;
      acc.serverCpuMs += serverCpuMs;
      acc.held += o.heldSends;
      acc.late += o.lateSends;
      acc.firstError ||= o.firstError;
      all.set(key, acc);
      const cpu = phase.serverCpuUsPerRequest !== null ? `, ${t.key === "gateway" ? "gateway process" : "server"} ${phase.serverCpuUsPerRequest} µs CPU/request${phase.replicaCpuUsPerRequest !== null ? ` (+ replica ${phase.replicaCpuUsPerRequest})` : ""}` : "";
      const paced = rate !== null ? `  (paced ${rate}/s: service p50 ${phase.serviceP50!.toFixed(2)} ms, ${phase.heldSends} held, ${phase.lateSends} sent late)` : "";
      console.log(`round ${r}  ${t.key.padEnd(8)} ${String(phase.rps).padStart(6)} req/s  p50 ${phase.p50.toFixed(2).padStart(6)} ms  p99 ${phase.p99.toFixed(2).padStart(6)} ms  errors ${phase.errors}  server ${phase.serverCores ?? "?"} cores${phase.postgresCores !== null ? ` + PostgreSQL ${phase.postgresCores}` : ""}, machine ${phase.machineCores} cores busy${cpu}${paced}`);
    };
    for (let r = 1; r <= ROUNDS; r++) {
      // Each round starts at a different target.
      const order = targets.map((_, i) => targets[(i + r - 1) % targets.length]!);
      if (SECONDS > 0) for (const t of order) await timed(t, r, null);
    }
    for (const rate of RATES) {
      console.log(`\npaced: ${CLIENTS} clients offering ${rate} req/s in all (open loop, latency from the scheduled send), ${ROUNDS} rounds of ${PACED_SECONDS} s per target`);
      for (let r = 1; r <= ROUNDS; r++) {
        const order = targets.map((_, i) => targets[(i + r - 1) % targets.length]!);
        for (const t of order) await timed(t, r, rate);
      }
    }
    // One client: what each hop costs when nothing queues (the added p50 here is the gateway's own work per request).
    const transactions = async () => Number((await bench.raw.query<{ n: string }>("select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()")).rows[0]!.n);
    let transactionsPerGatewayRequest: number | null = null;
    const single: { target: string; requests: number; rps: number; p50_ms: number; p99_ms: number }[] = [];
    if (SINGLE > 0) {
      for (const t of targets) {
        const warm = await drive({ url: t.url, headers: t.headers, body, seconds: 1, clients: 1 });
        if (t.key === "gateway") gatewayWarmups += warm.requests;
        const commits0 = t.key === "gateway" ? await transactions() : 0;
        const o = await drive({ url: t.url, headers: t.headers, body, seconds: SINGLE, clients: 1 });
        if (t.key === "gateway") {
          gatewayWarmups += o.requests;
          // PostgreSQL publishes a backend's counts within a second of its transactions.
          await new Promise((r) => setTimeout(r, 1500));
          transactionsPerGatewayRequest = round((await transactions() - commits0) / o.requests, 1);
          console.log(`PostgreSQL transactions per gateway request: ${transactionsPerGatewayRequest}`);
        }
        const s = summarize(o.latencies);
        single.push({ target: t.key, requests: o.requests, rps: Math.round(o.requests / (o.wallMs / 1000)), p50_ms: s.p50, p99_ms: s.p99 });
        console.log(`1 client ${t.key.padEnd(8)} ${String(single.at(-1)!.rps).padStart(6)} req/s  p50 ${s.p50.toFixed(2).padStart(6)} ms  p99 ${s.p99.toFixed(2).padStart(6)} ms  errors ${o.errors}`);
      }
    }
    await flushInferenceSamples();
    const routes = { ...routeCache(db).stats };
    console.log(`route cache: ${routes.hits} lookups answered from memory, ${routes.misses} read from the database, ${routes.invalidations} invalidations`);
    const samplesAfter = (await db.select({ n: count() }).from(inferenceSamples).where(eq(inferenceSamples.deploymentId, id)))[0]!.n;

    const merged = (t: Target, a: Merged) => {
      const s = summarize(a.latencies);
      const us = (ms: number) => (a.requests > 0 ? Math.round((ms * 1000) / a.requests) : null);
      return {
        target: t.key, name: t.name, requests: a.requests, errors: a.errors, first_error: a.firstError || null, rps: Math.round(a.requests / (a.wallMs / 1000)), p50_ms: s.p50, p99_ms: s.p99, mean_ms: s.mean,
        cpu_us_per_request: t.key === "gateway" ? us(a.gatewayCpuMs) : t.serverPid !== null ? us(a.serverCpuMs) : null,
        replica_cpu_us_per_request: t.key === "gateway" && replicaPid !== null ? us(a.serverCpuMs) : null,
      };
    };
    const summary = targets.filter((t) => all.has(t.key)).map((t) => merged(t, all.get(t.key)!));
    const paced = RATES.map((rate) => {
      const rows = targets.map((t) => {
        const a = all.get(`${t.key}@${rate}`)!;
        return { ...merged(t, a), service_p50_ms: summarize(a.service).p50, held_sends: a.held, late_sends: a.late };
      });
      const pg = rows.find((x) => x.target === "gateway");
      const pd = rows.find((x) => x.target === "replica");
      return { rate, rows, gateway_added: pg && pd ? { p50_ms: round(pg.p50_ms - pd.p50_ms), p99_ms: round(pg.p99_ms - pd.p99_ms) } : null };
    });
    const g = summary.find((s) => s.target === "gateway");
    const d = summary.find((s) => s.target === "replica");
    const added = g && d ? { p50_ms: round(g.p50_ms - d.p50_ms), p99_ms: round(g.p99_ms - d.p99_ms) } : null;
    const goals = {
      gateway_rps_at_least_5000: g ? g.rps >= 5000 : null,
      added_p50_at_most_1ms: added ? added.p50_ms <= 1 : null,
    };
    console.log("\ntarget    req/s    p50 ms   p99 ms  errors");
    for (const s of summary) console.log(`${s.target.padEnd(8)} ${String(s.rps).padStart(6)}  ${s.p50_ms.toFixed(2).padStart(7)}  ${s.p99_ms.toFixed(2).padStart(7)}  ${String(s.errors).padStart(6)}   ${s.name}`);
    if (added) console.log(`gateway added: p50 ${added.p50_ms} ms, p99 ${added.p99_ms} ms`);
    if (g) console.log(`CPU per request: gateway process ${g.cpu_us_per_request} µs, its replica ${g.replica_cpu_us_per_request} µs${d ? `; the replica called directly ${d.cpu_us_per_request} µs` : ""}`);
    for (const p of paced) {
      console.log(`\npaced at ${p.rate} req/s (${CLIENTS} clients, open loop)   achieved req/s   p50 ms   p99 ms   service p50   held   late`);
      for (const x of p.rows) console.log(`  ${x.target.padEnd(8)} ${String(x.rps).padStart(24)}  ${x.p50_ms.toFixed(2).padStart(7)}  ${x.p99_ms.toFixed(2).padStart(7)}  ${x.service_p50_ms.toFixed(2).padStart(11)}  ${String(x.held_sends).padStart(5)}  ${String(x.late_sends).padStart(5)}`);
      if (p.gateway_added) console.log(`  gateway added at ${p.rate} req/s: p50 ${p.gateway_added.p50_ms} ms, p99 ${p.gateway_added.p99_ms} ms`);
      const pg = p.rows.find((x) => x.target === "gateway");
      if (pg) console.log(`  CPU per request at ${p.rate} req/s: gateway process ${pg.cpu_us_per_request} µs, its replica ${pg.replica_cpu_us_per_request} µs`);
    }
    const g1 = single.find((x) => x.target === "gateway");
    const d1 = single.find((x) => x.target === "replica");
    const addedSingle = g1 && d1 ? { p50_ms: round(g1.p50_ms - d1.p50_ms), p99_ms: round(g1.p99_ms - d1.p99_ms) } : null;
    if (addedSingle) console.log(`gateway added at 1 client: p50 ${addedSingle.p50_ms} ms, p99 ${addedSingle.p99_ms} ms`);
    if (g && added) console.log(`goals: ≥ 5,000 req/s through the gateway: ${goals.gateway_rps_at_least_5000 ? "met" : "missed"} (${g.rps}); ≤ 1 ms p50 added: ${goals.added_p50_at_most_1ms ? "met" : "missed"} (${added.p50_ms} ms)`);
    const sampled = samplesAfter - samplesBefore;
    const gatewayRequests = [...all].filter(([k]) => k === "gateway" || k.startsWith("gateway@")).reduce((n, [, a]) => n + a.requests, 0) + gatewayWarmups;
    console.log(`inference log: ${sampled} rows sampled of ${gatewayRequests} gateway requests, warm-ups, paced and 1-client phases included (${round(sampled / gatewayRequests, 3)}; rate ${SAMPLE_RATE})`);
    for (const s of summary) if (s.first_error) console.log(`${s.target} first error: ${s.first_error}`);
    const load = os.loadavg().map((x) => round(x, 2));
    writeFileSync(OUT, `${JSON.stringify({
      at: new Date().toISOString(), command: `npx tsx bench/serving.ts ${process.argv.slice(2).join(" ")}`.trim(),
      machine: { ...machine, loadAfter: load, calibrationMs }, options: { door: DOOR, seconds: SECONDS, clients: CLIENTS, sampleRate: SAMPLE_RATE, mlflow: MLFLOW, rounds: ROUNDS, warmup: WARMUP, singleSeconds: SINGLE },
      options_paced: { rates: RATES, pacedSeconds: PACED_SECONDS }, cpu_profile: CPU_PROF || null,
      body, summary, gateway_added: added, paced, single_client: single, gateway_added_single_client: addedSingle, postgres_transactions_per_gateway_request: transactionsPerGatewayRequest, route_cache: routes, goals, sampled_rows: sampled, gateway_requests_with_warmups: gatewayRequests, mlflow_note: mlflowNote, phases,
    }, null, 2)}\n`);
    console.log(`results in ${OUT}`);
  } finally {
    gateway?.close();
    gateway?.closeAllConnections();
    stopGroup(mlflow?.child);
    await stopAllReplicas();
    await stopRouteCache(db);
    await bench.close(false);
    rmSync(work, { recursive: true, force: true });
  }
}

/** The V8 CPU profiler of this process (node:inspector): start, then stop writing a .cpuprofile file. */
async function startProfiler(): Promise<{ start: () => Promise<void>; stop: (file: string) => Promise<void> }> {
  const inspector = await import("node:inspector");
  const session = new inspector.Session();
  session.connect();
  const post = (method: string, params?: object) => new Promise<unknown>((resolve, reject) => session.post(method, params ?? {}, (err, result) => (err ? reject(err) : resolve(result))));
  await post("Profiler.enable");
  await post("Profiler.setSamplingInterval", { interval: 100 });
  return {
    start: async () => { await post("Profiler.start"); },
    stop: async (file) => {
      const { profile } = (await post("Profiler.stop")) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      console.log(`CPU profile of the gateway's process (round 1's gateway phase) in ${file}; summary: npx tsx bench/cpuprofile.ts ${file}`);
    },
  };
}

/** The pid of the deployment's one replica (this process's child running model-server.mjs). */
function findReplicaPid(): number | null {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.includes("model-server.mjs")) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] !== String(process.pid)) continue;
      return Number(pid);
    } catch {
      // ended
    }
  }
  return null;
}

if (!process.argv.includes("--load-child")) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
