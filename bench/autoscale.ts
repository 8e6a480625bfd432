// Autoscaling benchmark (PostgreSQL, local backend): a registered ONNX model deployed to staging with
// autoscaling on, the inference gateway's route served over loopback HTTP, and closed-loop clients ramping
// the load up and down. Every second it prints the replica count (recorded and serving), the requests in
// flight, the throughput and the latency p50/p99 of that second; at the end, one line per phase.
//
//   npx tsx bench/autoscale.ts [--phases 5:1,20:6,20:12,30:1] [--rows 500] [--target 4] [--max 3]
//                              [--interval-ms 1000] [--down-window-ms 15000] [--pg-url …] [--out bench/autoscale-results.json]
//
// `--phases` is seconds:clients, in order. Each client sends one request, waits for the answer, sends the next.
// The scale-down window is shortened from the 60 s default so a run takes about a minute and a half.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { and, asc, eq, like } from "drizzle-orm";
import { POST as servePOST } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { deploymentEvents, deployments } from "@/db/schema";
import { deploymentRuntime, stopAllReplicas } from "@/server/deployments/runtime";
import { deployModel } from "@/server/approvals/deploy";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion } from "@/server/registry/test-helpers";
import { Autoscaler } from "@/server/workers/autoscaler";
import { createBenchDatabase, ctxFor, tokenFor } from "./db";
import { now, summarize } from "./stats";
import { option } from "./args";


const PHASES = option("phases", "5:1,20:6,20:12,30:1").split(",").map((p) => {
  const [seconds, clients] = p.split(":").map(Number);
  if (!Number.isFinite(seconds) || !Number.isInteger(clients) || seconds! <= 0 || clients! < 0) throw new Error(`--phases: ${p} is not seconds:clients`);
  return { seconds: seconds!, clients: clients! };
});
const ROWS = Number(option("rows", "500"));
const TARGET = Number(option("target", "4"));
const MAX = Number(option("max", "3"));
const INTERVAL_MS = Number(option("interval-ms", "1000"));
const DOWN_WINDOW_MS = Number(option("down-window-ms", "15000"));
const PG_URL = option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres");
const OUT = option("out", "bench/autoscale-results.json");

/** The gateway's route handler as Next calls it, behind a plain HTTP server on loopback. */
function gatewayServer(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const [, team = "", deployment = "", ...path] = (req.url ?? "").split("?")[0]!.split("/");
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const request = new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: req.method === "POST" ? Buffer.concat(chunks) : undefined });
      void servePOST(request, { params: Promise.resolve({ team, deployment, path }) })
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
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

type Second = { t: number; clients: number; recorded: number; ready: number; inflight: number; requests: number; errors: number; p50: number; p99: number };

async function main(): Promise<void> {
  const bench = await createBenchDatabase(PG_URL);
  const { db } = bench;
  const runtime = deploymentRuntime();
  let server: http.Server | undefined;
  let autoscaler: Autoscaler | undefined;
  try {
    const token = await tokenFor(db, "ds@example.com", "churn");
    const run = await newRun(token, "bench-autoscale");
    await putRunFile(token, run, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights: [0.5, -1, 2, 0.25], bias: [0.1] })));
    await createModel(token, "bench-autoscale");
    await registerVersion(token, "bench-autoscale", run);
    const ctx = await ctxFor(db, "ds@example.com");
    const { deployment_id: id } = await deployModel(ctx, "bench-autoscale", { version: 1, environment: "staging", replicas: 1, auto_scale: true, min_replicas: 1, max_replicas: MAX, target_concurrency: TARGET, traffic: 100 });
    await runtime.settled(id);
    autoscaler = new Autoscaler({ db, runtime, intervalMs: INTERVAL_MS, downWindowMs: DOWN_WINDOW_MS });
    autoscaler.start();
    server = await gatewayServer();
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/churn/${id}/invocations`;
    const body = JSON.stringify({ inputs: Array.from({ length: ROWS }, (_, i) => [i % 7, 1, -1, (i % 3) / 2]) });
    const init = { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body };

    console.log(`deployment ${id}: 1 replica, autoscaling 1–${MAX} at ${TARGET} in flight per replica; ${ROWS} rows a request; down window ${DOWN_WINDOW_MS / 1000} s; tick ${INTERVAL_MS} ms`);
    console.log("   t  clients  replicas (recorded/serving)  in flight   req/s   p50 ms   p99 ms  errors");
    let latencies: number[] = [];
    let errors = 0;
    let firstError = "";
    let clients = 0;
    let active = 0;
    const seconds: Second[] = [];
    const started = now();
    const startedWall = Date.now();
    const client = async (slot: number) => {
      while (slot < clients) {
        const t0 = now();
        try {
          const res = await fetch(url, init);
          if (res.status === 200) await res.arrayBuffer();
          if (res.status !== 200) {
            errors++;
            if (!firstError) firstError = `${res.status} ${await res.text()}`;
          }
        } catch (err) {
          errors++;
          if (!firstError) firstError = String(err);
        }
        latencies.push(now() - t0);
      }
      active--;
    };
    const sampler = setInterval(() => {
      void (async () => {
        const [row] = await db.select({ replicas: deployments.replicas }).from(deployments).where(eq(deployments.id, id));
        const s = summarize(latencies);
        const sec: Second = { t: Math.round((now() - started) / 1000), clients, recorded: row!.replicas, ready: runtime.readyReplicas(id) ?? 0, inflight: runtime.load(id)?.inflight ?? 0, requests: latencies.length, errors, p50: s.p50, p99: s.p99 };
        latencies = [];
        errors = 0;
        seconds.push(sec);
        console.log(`${String(sec.t).padStart(4)}  ${String(sec.clients).padStart(7)}  ${`${sec.recorded}/${sec.ready}`.padStart(27)}  ${String(sec.inflight).padStart(9)}  ${String(sec.requests).padStart(6)}  ${sec.p50.toFixed(1).padStart(7)}  ${sec.p99.toFixed(1).padStart(7)}  ${String(sec.errors).padStart(6)}`);
      })();
    }, 1000);
    const phaseStarts: number[] = [];
    for (const phase of PHASES) {
      phaseStarts.push(Math.round((now() - started) / 1000));
      const before = clients;
      clients = phase.clients;
      for (let slot = before; slot < clients; slot++) {
        active++;
        void client(slot);
      }
      await new Promise((r) => setTimeout(r, phase.seconds * 1000));
    }
    clients = 0;
    while (active > 0) await new Promise((r) => setTimeout(r, 20));
    clearInterval(sampler);
    await autoscaler.stop();

    const events = await db.select({ at: deploymentEvents.at, message: deploymentEvents.message }).from(deploymentEvents).where(and(eq(deploymentEvents.deploymentId, id), like(deploymentEvents.message, "scaled %"))).orderBy(asc(deploymentEvents.id));
    console.log("\nphase  seconds  clients  replicas (end of phase)  requests  errors  p50 ms  p99 ms");
    const phases = PHASES.map((phase, i) => {
      const from = phaseStarts[i]!;
      const to = phaseStarts[i + 1] ?? Number.POSITIVE_INFINITY;
      const inPhase = seconds.filter((s) => s.t > from && s.t <= to);
      const requests = inPhase.reduce((a, s) => a + s.requests, 0);
      const errs = inPhase.reduce((a, s) => a + s.errors, 0);
      const p99 = Math.max(0, ...inPhase.map((s) => s.p99));
      const p50 = inPhase.length ? inPhase.map((s) => s.p50).sort((a, b) => a - b)[Math.floor(inPhase.length / 2)]! : 0;
      const last = inPhase.at(-1);
      const summary = { phase: i + 1, seconds: phase.seconds, clients: phase.clients, replicas: last ? `${last.recorded}/${last.ready}` : "-", requests, errors: errs, p50_ms: p50, worst_second_p99_ms: p99 };
      console.log(`${String(i + 1).padStart(5)}  ${String(phase.seconds).padStart(7)}  ${String(phase.clients).padStart(7)}  ${summary.replicas.padStart(23)}  ${String(requests).padStart(8)}  ${String(errs).padStart(6)}  ${p50.toFixed(1).padStart(6)}  ${p99.toFixed(1).padStart(6)}`);
      return summary;
    });
    if (firstError) console.log(`\nfirst error: ${firstError.slice(0, 300)}`);
    console.log("\nscale events:");
    for (const e of events) console.log(`  +${((e.at.getTime() - startedWall) / 1000).toFixed(1)} s  ${e.message}`);
    writeFileSync(OUT, `${JSON.stringify({ at: new Date().toISOString(), machine: { cpus: os.cpus().length, load: os.loadavg() }, options: { phases: PHASES, rows: ROWS, target: TARGET, max: MAX, intervalMs: INTERVAL_MS, downWindowMs: DOWN_WINDOW_MS }, seconds, phases, events: events.map((e) => e.message) }, null, 2)}\n`);
    console.log(`\nresults in ${OUT}`);
  } finally {
    await autoscaler?.stop();
    server?.close();
    await stopAllReplicas();
    await bench.close(false);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
