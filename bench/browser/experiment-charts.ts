// Browser benchmark of the experiment chart panel (/experiments/<id>?charts=1…) over an experiment with 10,000 runs.
//
//   npx tsx bench/browser/experiment-charts.ts [--runs 10000] [--steps 100] [--iterations 5] [--keep] [--dev]
//                                              [--admin-url postgres://postgres@127.0.0.1:5432/postgres] [--chromium /usr/bin/chromium]
//
// 1. creates a fresh PostgreSQL database and starts the app against it (`node scripts/start.mjs`, which builds
//    first when the sources changed; --dev starts `next dev` instead, only to check this script: its figures are
//    not the product's);
// 2. bulk-loads one experiment in team churn with `--runs` runs (5 params: 3 numeric, 1 int, 1 categorical; 2
//    latest metrics; a `loss` history of `--steps` points each, with its rollups rebuilt as after any bulk load);
// 3. times the panel's three data requests from Node (runs, history, importance): p50/p95 and bytes;
// 4. in headless Chromium (signed in as ds@example.com): opens the page with the panel open, measures the time
//    until every chart has drawn, then moves the mouse across the lines, parallel coordinates and scatter and
//    brushes one axis, recording frame times (requestAnimationFrame deltas), long tasks, and the latency from a
//    pointer move to the hovered run's name on screen;
// 5. prints a markdown table, writes bench/browser/charts-results.json, stops the server, drops the database.
//
// Targets (measured, not asserted): data responses ≤ 1 s p95, charts drawn ≤ 3 s, hover frame p95 ≤ 50 ms
// (20 fps), hover latency p95 ≤ 100 ms.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium } from "@playwright/test";
import type { Browser, Cookie, Page } from "@playwright/test";
import pg from "pg";
import { seedChartsExperiment } from "./charts-seed";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..");
const OUT = path.join(ROOT, "bench", "browser", "charts-results.json");
const argText = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
};
const arg = (name: string, fallback: number) => {
  const v = Number(argText(name, ""));
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const ADMIN_URL = argText("admin-url", "postgres://postgres@127.0.0.1:5432/postgres");
const CHROMIUM = argText("chromium", "/usr/bin/chromium");
const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
const VIEWPORT = { width: 1440, height: 900 };
const RUNS = arg("runs", 10_000);
const STEPS = arg("steps", 100);
const ITERATIONS = arg("iterations", 5);
const KEEP = process.argv.includes("--keep");
const DEV = process.argv.includes("--dev");
const EMAIL = "ds@example.com";
const PASSWORD = "cairn-demo";
const TARGETS = { dataP95Ms: 1000, drawnMs: 3000, frameP95Ms: 50, hoverP95Ms: 100 };
const PANEL_QUERY = "charts=1&cm=loss&obj=val_auc&pc=lr,dropout,batch_size,depth,optimizer&sx=params.lr&sy=metrics.val_auc";

const log = (msg: string) => console.log(`[bench] ${msg}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (v: number, d = 1) => (Number.isFinite(v) ? Math.round(v * 10 ** d) / 10 ** d : v);
function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}
const summary = (vs: number[]) => ({ n: vs.length, p50: round(percentile(vs, 50)), p95: round(percentile(vs, 95)), max: round(Math.max(...vs)) });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function adminQuery(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

function startServer(env: Record<string, string>): { child: ChildProcess; output: () => string } {
  let out = "";
  const inherited = process.env;
  const args = DEV ? ["scripts/start.mjs", "--dev"] : ["scripts/start.mjs"];
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...inherited, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  const keep = (b: Buffer) => {
    out += b.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  return { child, output: () => out };
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    process.kill(-child.pid, "SIGTERM");
  } catch {
    return;
  }
  if (await Promise.race([exited.then(() => false), sleep(10_000).then(() => true)])) {
    try { process.kill(-child.pid, "SIGKILL"); } catch { /* gone */ }
  }
}

async function waitForHealth(base: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch { /* not up yet */ }
    await sleep(1000);
  }
  throw new Error(`no healthy /api/health after ${timeoutMs / 1000}s`);
}

/** The panel's data requests from Node: time to the whole body, and its size. */
async function dataTimes(base: string, experimentId: number, cookie: string) {
  const keys = ["params.lr", "params.dropout", "params.batch_size", "params.depth", "params.optimizer", "metrics.val_auc"].join(",");
  const requests = {
    runs: `/api/v1/experiments/${experimentId}/charts/runs?keys=${keys}`,
    history: `/api/v1/experiments/${experimentId}/charts/history?metric=loss&max_points=200`,
    importance: `/api/v1/experiments/${experimentId}/charts/importance?objective=val_auc`,
  };
  const out: Record<string, { ms: ReturnType<typeof summary>; kb: number; status: number; note?: string }> = {};
  for (const [name, p] of Object.entries(requests)) {
    const times: number[] = [];
    let kb = 0;
    let status = 0;
    let note: string | undefined;
    for (let i = 0; i < ITERATIONS + 1; i++) {
      const t0 = performance.now();
      const res = await fetch(`${base}${p}`, { headers: { cookie } });
      const text = await res.text();
      if (i > 0) times.push(performance.now() - t0); // the first is a warm-up
      kb = round(text.length / 1024);
      status = res.status;
      if (name === "importance") note = (JSON.parse(text) as { message?: string }).message;
    }
    if (status !== 200) throw new Error(`${p} answered ${status}`);
    out[name] = { ms: summary(times), kb, status, ...(note ? { note } : {}) };
    log(`${name}: p50 ${out[name]!.ms.p50} ms, p95 ${out[name]!.ms.p95} ms, ${kb} KB`);
  }
  return out;
}

// Frame times and long tasks, recorded in the page from before any script runs.
const PROBE = `(() => {
  const w = window;
  w.__frames = []; w.__longTasks = []; w.__hover = []; w.__recording = false;
  let last = 0;
  const tick = (t) => { if (w.__recording && last) w.__frames.push(t - last); last = t; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) w.__longTasks.push(e.duration); }).observe({ type: "longtask", buffered: true }); } catch {}
  let moved = 0;
  document.addEventListener("mousemove", () => { moved = performance.now(); }, true);
  new MutationObserver((records) => {
    if (!w.__recording || !moved) return;
    if (records.some((r) => (r.target.nodeType === 1 ? r.target : r.target.parentElement)?.closest?.("[aria-live]"))) { w.__hover.push(performance.now() - moved); moved = 0; }
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();`;

type Interaction = { frames: number[]; longTasks: number[]; hover: number[] };

async function sweepMouse(page: Page, testId: string, moves: number, brush = false): Promise<void> {
  const box = await page.getByTestId(testId).boundingBox();
  if (!box) throw new Error(`${testId} is not on the page`);
  if (brush) {
    // Drag along the second axis of the parallel coordinates (axes start 60 px in; 5 params + objective = 6 axes).
    const x = box.x + 60 + (box.width - 120) / 5;
    await page.mouse.move(x, box.y + 60);
    await page.mouse.down();
    for (let i = 0; i < moves; i++) await page.mouse.move(x, box.y + 60 + (i * (box.height - 100)) / moves);
    await page.mouse.up();
    return;
  }
  for (let i = 0; i < moves; i++) {
    const t = i / moves;
    await page.mouse.move(box.x + 60 + t * (box.width - 80), box.y + box.height * (0.2 + 0.6 * Math.abs(Math.sin(t * 9))));
  }
}

async function browserRound(browser: Browser, cookies: Cookie[], url: string): Promise<{ drawnMs: number; result: Record<string, Interaction> }> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    await context.addCookies(cookies);
    await context.addInitScript(PROBE);
    const page = await context.newPage();
    const t0 = Date.now();
    await page.goto(url);
    await page.getByTestId("lines-canvas").and(page.locator(`[data-runs="${RUNS}"]`)).waitFor({ timeout: 120_000 });
    await page.getByTestId("parallel-canvas").and(page.locator(`[data-runs="${RUNS}"]`)).waitFor({ timeout: 120_000 });
    await page.getByTestId("scatter-canvas").waitFor({ timeout: 120_000 });
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    const drawnMs = Date.now() - t0;
    const result: Record<string, Interaction> = {};
    for (const [name, testId, brush] of [["lines hover", "lines-canvas", false], ["parallel hover", "parallel-canvas", false], ["scatter hover", "scatter-canvas", false], ["parallel brush", "parallel-canvas", true]] as const) {
      await page.getByTestId(testId).scrollIntoViewIfNeeded();
      await page.evaluate(() => { const w = window as unknown as { __frames: number[]; __longTasks: number[]; __hover: number[]; __recording: boolean }; w.__frames = []; w.__longTasks = []; w.__hover = []; w.__recording = true; });
      await sweepMouse(page, testId, 60, brush);
      await page.waitForTimeout(300);
      result[name] = await page.evaluate(() => {
        const w = window as unknown as { __frames: number[]; __longTasks: number[]; __hover: number[]; __recording: boolean };
        w.__recording = false;
        return { frames: w.__frames, longTasks: w.__longTasks, hover: w.__hover };
      });
    }
    return { drawnMs, result };
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  const startedAt = new Date();
  const dbName = `cairn_charts_bench_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  const url = u.toString();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-charts-bench-"));
  const port = await freePort();
  const base = `http://localhost:${port}`;
  let server: ReturnType<typeof startServer> | undefined;
  let browser: Browser | undefined;
  let dbCreated = false;
  const cleanup = async () => {
    await browser?.close().catch(() => undefined);
    if (server) await stopServer(server.child);
    if (KEEP) return log(`kept database ${dbName} and data dir ${dataDir}`);
    if (dbCreated) await adminQuery(`drop database if exists ${dbName} with (force)`).catch((e) => console.error("[bench] dropping the database failed", e));
    rmSync(dataDir, { recursive: true, force: true });
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => { void cleanup().finally(() => process.exit(130)); });

  try {
    await adminQuery(`create database ${dbName}`);
    dbCreated = true;
    log(`database ${dbName}, port ${port}${DEV ? " (next dev: figures only check the script)" : ""}`);
    server = startServer({ DATABASE_URL: url, PORT: String(port), CAIRN_DATA_DIR: dataDir });
    await waitForHealth(base, server.child, 15 * 60_000);
    const seeded = await seedChartsExperiment(url, { runs: RUNS, steps: STEPS, email: EMAIL });
    log(`seeded experiment ${seeded.experimentId}: ${RUNS} runs, ${seeded.metricRows} history points in ${seeded.seconds}s`);

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const login = await browser.newContext({ viewport: VIEWPORT, baseURL: base });
    const lp = await login.newPage();
    await lp.goto("/login");
    await lp.getByLabel("Email").fill(EMAIL);
    await lp.getByLabel("Password").fill(PASSWORD);
    await lp.getByRole("button", { name: "Sign in", exact: true }).click();
    await lp.waitForURL((x) => x.pathname === "/", { timeout: 60_000 });
    const cookies = await login.cookies();
    await login.close();
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join("; ");

    const data = await dataTimes(base, seeded.experimentId, cookie);
    const pageUrl = `${base}/experiments/${seeded.experimentId}?${PANEL_QUERY}`;
    await browserRound(browser, cookies, pageUrl); // warm-up (compiles in dev, fills caches)
    const rounds: { drawnMs: number; result: Record<string, Interaction> }[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      const r = await browserRound(browser, cookies, pageUrl);
      log(`round ${i + 1}: charts drawn ${r.drawnMs} ms; ${Object.entries(r.result).map(([k, v]) => `${k} frame p95 ${round(percentile(v.frames, 95))} ms`).join(", ")}`);
      rounds.push(r);
    }
    const interactions = Object.fromEntries(Object.keys(rounds[0]!.result).map((k) => {
      const all = rounds.map((r) => r.result[k]!);
      return [k, { frameMs: summary(all.flatMap((a) => a.frames)), longTasks: all.reduce((n, a) => n + a.longTasks.length, 0), longestTaskMs: round(Math.max(0, ...all.flatMap((a) => a.longTasks))), hoverLatencyMs: summary(all.flatMap((a) => a.hover)) }];
    }));
    const drawn = summary(rounds.map((r) => r.drawnMs));
    const verdict = (v: number, t: number) => (Number.isFinite(v) ? (v <= t ? "PASS" : "MISS") : "n/a");
    const lines = [
      `| Figure (${RUNS.toLocaleString()} runs × ${STEPS} steps, ${ITERATIONS} rounds) | Value | Target | Result |`,
      "|---|---|---|---|",
      ...Object.entries(data).map(([k, v]) => `| ${k} data p50 / p95 (${v.kb} KB) | ${v.ms.p50} / ${v.ms.p95} ms | ≤ ${TARGETS.dataP95Ms} ms p95 | ${verdict(v.ms.p95, TARGETS.dataP95Ms)} |`),
      `| page open → every chart drawn p50 / p95 | ${drawn.p50} / ${drawn.p95} ms | ≤ ${TARGETS.drawnMs} ms | ${verdict(drawn.p95, TARGETS.drawnMs)} |`,
      ...Object.entries(interactions).map(([k, v]) => `| ${k}: frame p50 / p95 / max | ${v.frameMs.p50} / ${v.frameMs.p95} / ${v.frameMs.max} ms | ≤ ${TARGETS.frameP95Ms} ms p95 | ${verdict(v.frameMs.p95, TARGETS.frameP95Ms)} |`),
      ...Object.entries(interactions).filter(([, v]) => v.hoverLatencyMs.n > 0).map(([k, v]) => `| ${k}: pointer → name shown p50 / p95 (${v.hoverLatencyMs.n}) | ${v.hoverLatencyMs.p50} / ${v.hoverLatencyMs.p95} ms | ≤ ${TARGETS.hoverP95Ms} ms p95 | ${verdict(v.hoverLatencyMs.p95, TARGETS.hoverP95Ms)} |`),
    ];
    console.log(`\n${lines.join("\n")}\n`);
    writeFileSync(OUT, `${JSON.stringify({
      date: startedAt.toISOString(),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, node: process.version },
      command: `npx tsx bench/browser/experiment-charts.ts ${process.argv.slice(2).join(" ")}`.trim(),
      mode: DEV ? "next dev (script check only)" : "next start",
      setup: { runs: RUNS, steps: STEPS, iterations: ITERATIONS, seedSeconds: seeded.seconds },
      targets: TARGETS,
      loadAverage: os.loadavg().map((v) => round(v, 2)),
      data,
      drawnMs: drawn,
      interactions,
      table: lines.join("\n"),
    }, null, 2)}\n`);
    log(`wrote ${path.relative(ROOT, OUT)}`);
  } catch (err) {
    if (server) console.error(`[bench] server output (tail):\n${server.output().slice(-4000)}`);
    throw err;
  } finally {
    await cleanup();
  }
}

main().catch((err) => {
  console.error("[bench] failed:", err);
  process.exit(1);
});
