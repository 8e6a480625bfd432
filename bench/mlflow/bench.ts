// Cairn against the real MLflow tracking server, side by side (issue 20): the same MLflow REST requests at
// a Cairn server and at `mlflow server` (2.x and 3.x from PyPI, gunicorn with 4 workers), each on its own fresh
// database of the same PostgreSQL, rounds interleaved (every round visits every server, order rotating).
//
//   npx tsx bench/mlflow/bench.ts [--runs 100000] [--rounds 3] [--mlflow 2,3] [--history-points 1000000]
//        [--creates 400] [--search-iterations 20 (searches and sampled history)] [--cairn node|next] [--pg-url …] [--out bench/mlflow/results.json]
//        [--warmup 1 (untimed passes of each scenario on every server before its timed rounds; printed, kept in the JSON)]
//        [--cairn-port 3391] [--mlflow-port 5391 (the 3.x server on the next port)]
//        [--parts write,load,history (which parts to run; load includes the searches on the loaded runs)]
//        [--keep-databases (leave the databases, and print the stamp that names them)]
//        [--reuse STAMP (the databases a --keep-databases run left: no new load, its runs are searched again)]
//
// Venvs live outside the repository (/tmp/cairn-bench-mlflow-2, -3; reused when present, see venv.sh).
// `--cairn node` (default) serves Cairn's MLflow adapter from node:http (cairn-server.ts); `--cairn next`
// runs `next start` on an existing build. Autovacuum is switched off on the tracking tables of every
// database before the load, so the searches after it run as on a freshly loaded database: before any ANALYZE.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import pg from "pg";
import { option } from "../args";
import { cpuCalibration } from "../cpu";
import type { Target } from "./servers";
import { adminQuery, cpuMark, cpuSinceMark, dbUrl, processTree, rssMb, startCairn, startMlflow, tempDirs } from "./servers";

const RUNS = Number(option("runs", "100000"));
const ROUNDS = Number(option("rounds", "3"));
const VERSIONS = option("mlflow", "2,3").split(",").filter(Boolean);
const HISTORY_POINTS = Number(option("history-points", "1000000"));
const CREATES = Number(option("creates", "400"));
const SEARCH_ITERATIONS = Number(option("search-iterations", "20"));
/** Untimed passes of each scenario on every server before its timed rounds. */
const WARMUP = Number(option("warmup", "1"));
const OUT = option("out", "bench/mlflow/results.json");
/** Which parts to run: write (runs/create, log-batch), load (the --runs load, then the searches on it), history. */
const PARTS = new Set(option("parts", "write,load,history").split(",").filter(Boolean));
for (const part of PARTS) if (!["write", "load", "history"].includes(part)) throw new Error(`--parts takes write, load and history (comma-separated), not ${part}`);
/** A kept run's stamp: its databases are served again and its loaded runs searched, with no new load. */
const REUSE = option("reuse", "");
if (REUSE && !/^[0-9]+_[0-9a-f]{6}$/.test(REUSE)) throw new Error(`--reuse takes the stamp a --keep-databases run printed (digits_6 hex), not ${REUSE}`);
const KEEP = process.argv.includes("--keep-databases") || REUSE !== "";
const LOAD_CLIENTS = 8;
const PARAMS = 10;
const METRICS = 10;
const TAGS = 5;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(s.length * p) - 1))]! : Number.NaN;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const load1 = () => r1(os.loadavg()[0]!);

// ---------- requests ----------

// node:http rather than fetch: gunicorn's sync workers close every connection after the answer, and a fetch
// reusing a pooled connection the server just closed fails. Keep-alive where the server keeps connections.
const agents = { keep: new http.Agent({ keepAlive: true, maxSockets: 64 }), close: new http.Agent({ keepAlive: false, maxSockets: 64 }) };

function call(t: Target, method: "GET" | "POST", p: string, body?: unknown): Promise<unknown> {
  const url = new URL(p.startsWith("/") ? `${t.base}${p}` : `${t.base}/api/2.0/mlflow/${p}`);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method, agent: t.name === "Cairn" ? agents.keep : agents.close,
      headers: { ...t.headers, ...(payload === undefined ? {} : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) reject(new Error(`${t.name} ${method} ${p} answered ${res.statusCode}: ${text.slice(0, 300)}`));
        else resolve(text ? (JSON.parse(text) as unknown) : null);
      });
      res.on("error", reject);
    });
    req.on("error", (err) => reject(new Error(`${t.name} ${method} ${p}: ${err.message}`)));
    req.end(payload);
  });
}

/**
 * Closes the kept connections nothing uses: each timed scenario opens its own, so none is reused at the moment the
 * server drops it for idling (Node's keep-alive timeout, 5 s by default, which `next start` keeps) — a race that
 * fails a request with "socket hang up" and says nothing about either server.
 */
function dropIdleConnections(): void {
  for (const sockets of Object.values(agents.keep.freeSockets)) for (const socket of sockets ?? []) socket.destroy();
}

async function createExperiment(t: Target, name: string): Promise<string> {
  return ((await call(t, "POST", "experiments/create", { name })) as { experiment_id: string }).experiment_id;
}

async function createRun(t: Target, experimentId: string, name: string): Promise<string> {
  const res = (await call(t, "POST", "runs/create", { experiment_id: experimentId, run_name: name, start_time: Date.now(), tags: [{ key: "source", value: "bench" }] })) as { run: { info: { run_id: string } } };
  return res.run.info.run_id;
}

/** `clients` closed-loop clients sharing `total` requests; latencies of each. */
async function closedLoop(clients: number, total: number, one: (client: number, i: number) => Promise<unknown>): Promise<{ wallMs: number; ms: number[] }> {
  const ms: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = next++; i < total; i = next++) {
      const s = performance.now();
      await one(c, i);
      ms.push(performance.now() - s);
    }
  }));
  return { wallMs: performance.now() - t0, ms };
}

type Measure = { value: number; p50: number; p99: number; requests: number; serverCpuMsPerReq: number; postgresCpuMsPerReq: number; load: number };
type Scenario = { id: string; label: string; unit: string; higherIsBetter: boolean; note?: string; prepare?: (t: Target) => Promise<void>; measure: (t: Target) => Promise<{ value: number; ms: number[]; requests: number }> };

async function timed(t: Target, s: Scenario): Promise<Measure> {
  dropIdleConnections();
  const mark = cpuMark(t);
  const load = load1();
  const { value, ms, requests } = await s.measure(t);
  const cpu = cpuSinceMark(t, mark);
  return { value, p50: r1(pct(ms, 0.5)), p99: r1(pct(ms, 0.99)), requests, serverCpuMsPerReq: r1(cpu.serverMs / requests), postgresCpuMsPerReq: r1(cpu.postgresMs / requests), load };
}

// ---------- scenarios ----------

type State = { experiment: Map<string, string>; loadExperiment: Map<string, string>; historyRun: Map<string, string>; smallRuns: Map<string, string[]>; largeRuns: Map<string, string[]> };
const state: State = { experiment: new Map(), loadExperiment: new Map(), historyRun: new Map(), smallRuns: new Map(), largeRuns: new Map() };
const metricsBatch = (n: number, step: number) => Array.from({ length: n }, (_, j) => ({ key: `m${j % 10}`, value: Math.random(), timestamp: Date.now(), step: step * 100 + Math.floor(j / 10) }));

function writeScenarios(): Scenario[] {
  return [
    {
      id: "create_1", label: "runs/create, 1 client", unit: "runs/s", higherIsBetter: true,
      measure: async (t) => {
        const { wallMs, ms } = await closedLoop(1, Math.ceil(CREATES / 4), (_, i) => createRun(t, state.experiment.get(t.name)!, `c1-${i}`));
        return { value: ms.length / (wallMs / 1000), ms, requests: ms.length };
      },
    },
    {
      id: "create_8", label: "runs/create, 8 clients", unit: "runs/s", higherIsBetter: true,
      measure: async (t) => {
        const { wallMs, ms } = await closedLoop(8, CREATES, (_, i) => createRun(t, state.experiment.get(t.name)!, `c8-${i}`));
        return { value: ms.length / (wallMs / 1000), ms, requests: ms.length };
      },
    },
    {
      id: "batch_small", label: "log-batch 10 metrics, 20 clients", unit: "req/s", higherIsBetter: true,
      prepare: async (t) => {
        state.smallRuns.set(t.name, await Promise.all(Array.from({ length: 20 }, (_, c) => createRun(t, state.experiment.get(t.name)!, `small-${c}`))));
      },
      measure: async (t) => {
        const runsOf = state.smallRuns.get(t.name)!;
        const { wallMs, ms } = await closedLoop(20, 1000, (c, i) => call(t, "POST", "runs/log-batch", { run_id: runsOf[c], metrics: metricsBatch(10, i) }));
        return { value: ms.length / (wallMs / 1000), ms, requests: ms.length };
      },
    },
    {
      id: "batch_large", label: "log-batch 1000 metrics, 4 clients", unit: "metrics/s", higherIsBetter: true,
      prepare: async (t) => {
        state.largeRuns.set(t.name, await Promise.all(Array.from({ length: 4 }, (_, c) => createRun(t, state.experiment.get(t.name)!, `large-${c}`))));
      },
      measure: async (t) => {
        const runsOf = state.largeRuns.get(t.name)!;
        const { wallMs, ms } = await closedLoop(4, 40, (c, i) => call(t, "POST", "runs/log-batch", { run_id: runsOf[c], metrics: metricsBatch(1000, i) }));
        return { value: (ms.length * 1000) / (wallMs / 1000), ms, requests: ms.length };
      },
    },
  ];
}

function searchScenarios(): Scenario[] {
  const search = (t: Target, filter: string, order: string[]) => call(t, "POST", "runs/search", { experiment_ids: [state.loadExperiment.get(t.name)!], filter, order_by: order, max_results: 100 });
  const repeat = (t: Target, filter: string, order: string[]) => async () => {
    const { ms } = await closedLoop(1, SEARCH_ITERATIONS, () => search(t, filter, order));
    return { value: pct(ms, 0.5), ms, requests: ms.length };
  };
  return [
    { id: "search_metric_order", label: "search, order by metric", unit: "ms p50", higherIsBetter: false, measure: (t) => repeat(t, "", ["metrics.m0 DESC"])() },
    { id: "search_metric_param", label: "search, metric + param filter, metric order", unit: "ms p50", higherIsBetter: false, measure: (t) => repeat(t, "metrics.m3 > 0.5 and params.p1 = 'v7'", ["metrics.m0 DESC"])() },
    { id: "search_tag", label: "search, tag filter", unit: "ms p50", higherIsBetter: false, measure: (t) => repeat(t, "tags.t1 = 'x3'", [])() },
  ];
}

function historyScenarios(): Scenario[] {
  const full = async (t: Target) => {
    const runId = state.historyRun.get(t.name)!;
    const ms: number[] = [];
    let points = 0;
    const s = performance.now();
    let token: string | undefined;
    let pages = 0;
    do {
      const q = `metrics/get-history?run_id=${runId}&metric_key=m0${token ? `&page_token=${encodeURIComponent(token)}` : ""}`;
      const res = (await call(t, "GET", q)) as { metrics?: unknown[]; next_page_token?: string };
      points += res.metrics?.length ?? 0;
      token = res.next_page_token;
      pages++;
    } while (token);
    ms.push(performance.now() - s);
    if (points !== HISTORY_POINTS) throw new Error(`${t.name} returned ${points} of ${HISTORY_POINTS} points`);
    return { value: ms[0]!, ms, requests: pages };
  };
  const sampled = async (t: Target) => {
    const { ms } = await closedLoop(1, SEARCH_ITERATIONS, () => call(t, "GET", t.sampled(state.historyRun.get(t.name)!, "m0")));
    return { value: pct(ms, 0.5), ms, requests: ms.length };
  };
  return [
    { id: "history_full", label: `full history, ${HISTORY_POINTS.toLocaleString("en")}-point metric`, unit: "ms", higherIsBetter: false, measure: full },
    {
      id: "history_sampled", label: "sampled history (1000 points)", unit: "ms p50", higherIsBetter: false, measure: sampled,
      note: "Cairn: metrics/get-history-sampled; MLflow: /ajax-api/2.0/mlflow/metrics/get-history-bulk-interval (its UI's sampled call)",
    },
    {
      id: "history_sampled_vs_full", label: "Cairn sampled vs MLflow full history", unit: "ms", higherIsBetter: false,
      measure: async (t) => (t.name === "Cairn" ? sampled(t) : full(t)),
      note: "what a chart costs where the client has only get-history (the MLflow client API; no sampled endpoint in its REST API)",
    },
  ];
}

// ---------- loading ----------

async function loadRuns(t: Target, stamp: string): Promise<{ seconds: number; runsPerS: number }> {
  const exp = await createExperiment(t, `load-${stamp}`);
  state.loadExperiment.set(t.name, exp);
  const t0 = performance.now();
  await closedLoop(LOAD_CLIENTS, RUNS, async (_, i) => {
    const runId = await createRun(t, exp, `load-${i}`);
    const h = (j: number) => (i * 7919 + j * 104729) % 1000;
    await call(t, "POST", "runs/log-batch", {
      run_id: runId,
      params: Array.from({ length: PARAMS }, (_, j) => ({ key: `p${j}`, value: `v${h(j) % 20}` })),
      metrics: Array.from({ length: METRICS }, (_, j) => ({ key: `m${j}`, value: h(j + 50) / 1000, timestamp: 1700000000000 + i, step: 0 })),
      tags: Array.from({ length: TAGS }, (_, j) => ({ key: `t${j}`, value: `x${h(j + 90) % 10}` })),
    });
    await call(t, "POST", "runs/update", { run_id: runId, status: "FINISHED", end_time: Date.now() });
  });
  const seconds = (performance.now() - t0) / 1000;
  return { seconds: r1(seconds), runsPerS: r1(RUNS / seconds) };
}

async function loadHistory(t: Target): Promise<number> {
  const runId = await createRun(t, state.experiment.get(t.name)!, "history");
  state.historyRun.set(t.name, runId);
  const t0 = performance.now();
  const batches = Math.ceil(HISTORY_POINTS / 1000);
  await closedLoop(4, batches, (_, b) => call(t, "POST", "runs/log-batch", {
    run_id: runId, metrics: Array.from({ length: Math.min(1000, HISTORY_POINTS - b * 1000) }, (_, j) => ({ key: "m0", value: Math.sin((b * 1000 + j) / 5000), timestamp: 1700000000000 + b * 1000 + j, step: b * 1000 + j })),
  }));
  return r1((performance.now() - t0) / 1000);
}

/** Seconds until no VACUUM or ANALYZE runs in `database` (at most 300 s; one second with none in sight). */
async function waitForMaintenance(database: string): Promise<number> {
  const t0 = performance.now();
  const c = new pg.Client({ connectionString: dbUrl("postgres") });
  await c.connect();
  try {
    for (let quiet = 0; quiet < 4 && performance.now() - t0 < 300_000;) {
      const { rows } = await c.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = $1 and pid <> pg_backend_pid() and query ~* '^\\s*(vacuum|analyze)' and state = 'active'`, [database]);
      quiet = rows[0]!.n > 0 ? 0 : quiet + 1;
      await sleep(250);
    }
  } finally {
    await c.end();
  }
  return r1((performance.now() - t0) / 1000);
}

// ---------- rounds and table ----------

type Row = { scenario: Scenario; byTarget: Map<string, Measure[]>; warmup: { target: string; value: number }[] };
const failures: { scenario: string; error: string }[] = [];

async function rounds(targets: Target[], scenarios: Scenario[], n: number, rows: Row[]): Promise<void> {
  for (const s of scenarios) {
    const row: Row = { scenario: s, byTarget: new Map(targets.map((t) => [t.name, []])), warmup: [] };
    try {
      for (const t of targets) await s.prepare?.(t);
      // Untimed passes first (both sides: JIT, connection pools, prepared statements, caches); their rates are
      // printed and kept in the JSON, not in the table.
      for (let w = 0; w < WARMUP; w++) {
        for (const t of targets) { dropIdleConnections(); row.warmup.push({ target: t.name, value: r1((await s.measure(t)).value) }); }
      }
      for (let r = 0; r < n; r++) {
        // Rotate the order so no server always goes first (or always after another's load).
        const order = targets.map((_, i) => targets[(i + r) % targets.length]!);
        for (const t of order) row.byTarget.get(t.name)!.push(await timed(t, s));
      }
    } catch (err) {
      // One failing scenario (a server's error, a timeout) is reported in the table; the others still run.
      console.error(`  ${s.label} failed: ${err instanceof Error ? err.message : String(err)}`);
      failures.push({ scenario: s.id, error: err instanceof Error ? err.message : String(err) });
      continue;
    }
    rows.push(row);
    const m = (name: string) => row.byTarget.get(name)!.map((x) => r1(x.value)).join(", ");
    const warm = row.warmup.length ? ` (untimed first: ${row.warmup.map((w) => `${w.target} ${w.value}`).join(", ")})` : "";
    console.log(`  ${s.label}: ${targets.map((t) => `${t.name} [${m(t.name)}] ${s.unit}`).join("; ")}${warm}`);
  }
}

const median = (xs: number[]) => pct(xs, 0.5);

function ratioCell(cairn: Measure[], other: Measure[], higherIsBetter: boolean): { ratio: number; min: number; max: number } {
  // Per-round ratios (round r of Cairn against round r of MLflow): their median, and their spread.
  const ratios = cairn.map((c, i) => (higherIsBetter ? c.value / other[i]!.value : other[i]!.value / c.value));
  return { ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
}

function table(rows: Row[], targets: Target[]): { text: string; json: unknown[] } {
  const others = targets.filter((t) => t.name !== "Cairn");
  const head = ["Scenario", "Cairn", ...others.map((o) => o.name), ...others.map((o) => `Cairn ÷ ${o.name}`), "server CPU ms/req, Cairn", ...others.map((o) => `server CPU ms/req, ${o.name}`), "rounds", "load"];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => " --- ").join("|")}|`];
  const json: unknown[] = [];
  for (const row of rows) {
    const s = row.scenario;
    const cairn = row.byTarget.get("Cairn")!;
    const fmt = (ms: Measure[]) => `${r1(median(ms.map((m) => m.value))).toLocaleString("en")} ${s.unit}`;
    const cells = others.map((o) => ratioCell(cairn, row.byTarget.get(o.name)!, s.higherIsBetter));
    const cpu = [cairn, ...others.map((o) => row.byTarget.get(o.name)!)].map((ms) => r1(median(ms.map((m) => m.serverCpuMsPerReq)))).join(" | ");
    const loads = [...row.byTarget.values()].flat().map((m) => m.load);
    lines.push(`| ${s.label} | ${fmt(cairn)} | ${others.map((o) => fmt(row.byTarget.get(o.name)!)).join(" | ")} | ${cells.map((c) => `**${c.ratio.toFixed(1)}×** (${c.min.toFixed(1)}–${c.max.toFixed(1)})${c.ratio < 1 ? " MISS" : ""}`).join(" | ")} | ${cpu} | ${cairn.length} | ${Math.min(...loads)}–${Math.max(...loads)} |`);
    json.push({ id: s.id, label: s.label, unit: s.unit, higher_is_better: s.higherIsBetter, note: s.note, ratios: Object.fromEntries(others.map((o, i) => [o.name, cells[i]])), measures: Object.fromEntries(row.byTarget), warmup: row.warmup });
  }
  return { text: lines.join("\n"), json };
}

async function main(): Promise<void> {
  const stamp = REUSE || `${Date.now()}_${randomBytes(3).toString("hex")}`;
  const calibrationMs = cpuCalibration();
  console.log(`CPU calibration ${calibrationMs} ms (bench/cpu.ts); load ${os.loadavg().map(r1).join(" ")}`);
  const targets: Target[] = [];
  let dataDir: string | undefined;
  const started = new Date();
  try {
    const cairn = await startCairn(Number(option("cairn-port", "3391")), stamp, REUSE !== "");
    dataDir = cairn.dataDir;
    targets.push(cairn);
    for (const [i, v] of VERSIONS.entries()) targets.push(await startMlflow(v, Number(option("mlflow-port", "5391")) + i, stamp, REUSE !== ""));
    for (const t of targets) state.experiment.set(t.name, await createExperiment(t, `bench-${Date.now()}`));
    const rows: Row[] = [];
    if (PARTS.has("write")) {
      console.log("write path, rounds interleaved:");
      await rounds(targets, writeScenarios(), ROUNDS, rows);
    }

    const loads: Record<string, { seconds: number; runsPerS: number; load: number }> = {};
    const analyzed: Record<string, unknown> = {};
    const maintenanceWait: Record<string, number> = {};
    if (PARTS.has("load")) {
      // With --reuse, the runs a --keep-databases run loaded are found by their experiment's name and searched again; a
      // server that run did not have (its database is new) gets the same runs loaded now (the load is deterministic).
      const kept = targets.filter((t) => !t.fresh);
      for (const t of kept) {
        const found = (await call(t, "GET", `experiments/get-by-name?experiment_name=load-${stamp}`)) as { experiment: { experiment_id: string } };
        state.loadExperiment.set(t.name, found.experiment.experiment_id);
      }
      if (kept.length) console.log(`searching the runs loaded by the run ${stamp} again on ${kept.map((t) => t.name).join(", ")} (no new load)`);
      const toLoad = targets.filter((t) => t.fresh);
      if (toLoad.length) console.log(`loading ${RUNS} runs (${PARAMS} params, ${METRICS} metrics, ${TAGS} tags each; runs/create + log-batch + runs/update, ${LOAD_CLIENTS} clients):`);
      for (const t of toLoad) {
        const load = load1();
        loads[t.name] = { ...(await loadRuns(t, stamp)), load };
        console.log(`  ${t.name}: ${loads[t.name]!.seconds} s (${loads[t.name]!.runsPerS} runs/s)`);
      }
      // Straight after the load, before any ANALYZE (autovacuum is off on these tables): the plan-cliff check. One
      // search on each server first, then the wait for what that started (Cairn's read path analyses tables that grew,
      // and vacuums tables whose pages are mostly unmarked, in the background): its seconds are printed and kept.
      for (const t of targets) await call(t, "POST", "runs/search", { experiment_ids: [state.loadExperiment.get(t.name)!], filter: "params.p1 = 'v7'", order_by: ["metrics.m0 DESC"], max_results: 100 });
      for (const t of targets) maintenanceWait[t.name] = await waitForMaintenance(t.database);
      console.log(`  first search on each server, then the wait for the maintenance it started: ${JSON.stringify(maintenanceWait)} s`);
      for (const t of targets) {
        const c = new pg.Client({ connectionString: dbUrl(t.database) });
        await c.connect();
        analyzed[t.name] = (await c.query(`select relname, last_analyze, last_autoanalyze, last_vacuum, last_autovacuum, n_mod_since_analyze from pg_stat_user_tables where relname in ('runs','run_tags','tags','params','latest_metrics','metrics') order by relname`)).rows;
        await c.end();
      }
      console.log(REUSE ? "search on the kept databases (and any loaded now):" : "search on the freshly loaded databases (no ANALYZE but the servers' own):");
      await rounds(targets, searchScenarios(), ROUNDS, rows);
    }

    const historyLoad: Record<string, number> = {};
    if (PARTS.has("history")) {
      console.log(`loading a ${HISTORY_POINTS}-point metric:`);
      for (const t of targets) historyLoad[t.name] = await loadHistory(t);
      console.log(`  ${JSON.stringify(historyLoad)} s`);
      await rounds(targets, historyScenarios(), ROUNDS, rows);
    }

    const memory = Object.fromEntries(targets.map((t) => [t.name, rssMb(processTree(t.child.pid!))]));
    const { text, json } = table(rows, targets);
    const loadRow = !loads.Cairn ? "" : `| load ${RUNS.toLocaleString("en")} runs (create + log-batch + update, ${LOAD_CLIENTS} clients) | ${loads.Cairn!.runsPerS} runs/s | ${targets.slice(1).map((t) => `${loads[t.name]!.runsPerS} runs/s`).join(" | ")} | ${targets.slice(1).map((t) => `**${(loads.Cairn!.runsPerS / loads[t.name]!.runsPerS).toFixed(1)}×**`).join(" | ")} | ${targets.map(() => "—").join(" | ")} | 1 | ${Object.values(loads).map((l) => l.load).join(", ")} |`;
    const memRow = `| server RSS after the run (all processes) | ${memory.Cairn} MB | ${targets.slice(1).map((t) => `${memory[t.name]} MB`).join(" | ")} | ${targets.slice(1).map((t) => `**${(memory[t.name]! / memory.Cairn!).toFixed(1)}×**`).join(" | ")} | ${targets.map(() => "—").join(" | ")} | 1 | — |`;
    const failed = failures.map((f) => `| ${f.scenario}: not measured — ${f.error.slice(0, 200).replace(/\|/g, "/")} |${" |".repeat(2 * targets.length + targets.length + 1)}`).join("\n");
    const full = [text, loadRow, memRow, failed].filter(Boolean).join("\n");
    console.log(`\n${full}\n`);
    const result = {
      at: started.toISOString(), command: `npx tsx bench/mlflow/bench.ts ${process.argv.slice(2).join(" ")}`.trim(), cairn_server: option("cairn", "next"),
      machine: { cpus: os.availableParallelism(), calibration_ms: calibrationMs, load_before: os.loadavg().map(r1), node: process.version },
      options: { parts: [...PARTS], runs: RUNS, rounds: ROUNDS, creates: CREATES, history_points: HISTORY_POINTS, search_iterations: SEARCH_ITERATIONS, warmup: WARMUP, params: PARAMS, metrics: METRICS, tags: TAGS },
      servers: targets.map((t) => t.name), table: full, rows: json, load: loads, history_load_s: historyLoad, rss_mb: memory, statistics_before_search: analyzed, maintenance_wait_s: maintenanceWait, failures,
    };
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
    console.log(`wrote ${OUT}`);
  } finally {
    for (const t of targets) {
      try { process.kill(-t.child.pid!, "SIGTERM"); } catch { /* gone */ }
    }
    await sleep(1500);
    for (const dir of [...tempDirs, ...(dataDir ? [dataDir] : [])]) rmSync(dir, { recursive: true, force: true });
    if (KEEP) console.log(`kept the databases ${targets.map((t) => t.database).join(", ")}: search them again with --reuse ${stamp}`);
    else for (const t of targets) await adminQuery(`drop database if exists ${t.database} with (force)`).catch((e: unknown) => console.error(e));
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
