// Sweep benchmark with real jobs: the churn example (examples/churn) trained once with its default params, then a
// random and a Bayesian (Optuna TPE) sweep of it, each within 20 trials, on the local executor — is the best trial
// better than the defaults, and how long does it take?
//
//   CAIRN_DATA_DIR=$(mktemp -d) CAIRN_TRACKING_URL=http://127.0.0.1:4517 CAIRN_OPTUNA_PYTHON=/tmp/cairn-optuna-venv/bin/python \
//     npx tsx bench/sweeps.ts [--trials 20] [--parallelism 2] [--metric val_loss] [--pg-url …] [--out bench/sweeps-results.json]
//
// The bench serves Cairn's MLflow API (the route handlers) on the port CAIRN_TRACKING_URL names, so the jobs log
// into the bench's database as they would into a running server; the sweep driver and the scheduler are driven in
// this process (as the worker loops would). Every trial gets --epoch-delay-ms=0 (a fixed param) so trials take
// seconds. The objective is the validation log loss (val_loss, minimized): the example's AUC is close to what a
// linear model can reach on its data, its loss shows under-training much more.
import http from "node:http";
import { writeFileSync } from "node:fs";
import os from "node:os";
import { and, eq } from "drizzle-orm";
import { jobs, latestMetrics, sweeps, teamQuotas, teams } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { createSweepSchema } from "@/lib/schemas/sweeps";
import { env } from "@/server/env";
import { handleArtifacts } from "@/server/mlflow/artifacts-handler";
import { handleMlflow } from "@/server/mlflow/handler";
import { submitJob } from "@/server/jobs/service";
import { driveSweep } from "@/server/sweeps/driver";
import { bayesianAvailability } from "@/server/sweeps/optuna";
import { createSweep, getSweep } from "@/server/sweeps/service";
import { createExperiment } from "@/server/tracking/experiments";
import { tick } from "@/server/workers/testing";
import { option } from "./args";
import { createBenchDatabase, ctxFor } from "./db";

const TRIALS = Number(option("trials", "20"));
const PARALLELISM = Number(option("parallelism", "2"));
const METRIC = option("metric", "val_loss");
const DIRECTION = option("direction", "minimize") as "minimize" | "maximize";
const SEED = Number(option("seed", "1"));
const PG_URL = option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres");
const OUT = option("out", "bench/sweeps-results.json");

const SPACE = [
  { name: "lr", type: "log_uniform", low: 0.001, high: 1 },
  { name: "l2", type: "log_uniform", low: 0.000001, high: 0.1 },
  { name: "batch-size", type: "categorical", values: [16, 32, 64, 128, 256] },
  { name: "epochs", type: "int", low: 10, high: 60 },
  { name: "epoch-delay-ms", type: "fixed", value: 0 },
];

/** Cairn's MLflow tracking and artifact API over HTTP, as `next start` serves it (the routes the example calls). */
function serveMlflow(port: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", `http://127.0.0.1:${port}`);
      const headers = new Headers();
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers.set(k, v);
      const request = new Request(url, { method: req.method, headers, body: ["GET", "HEAD"].includes(req.method ?? "GET") ? undefined : Buffer.concat(chunks) });
      const artifacts = url.pathname.startsWith("/api/2.0/mlflow-artifacts/");
      const rest = url.pathname.replace(/^\/api\/2\.0\/mlflow\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
      void (artifacts ? handleArtifacts(request) : handleMlflow(request, rest))
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
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const port = Number(new URL(env().trackingUrl).port || 80);
  const server = await serveMlflow(port);
  const bench = await createBenchDatabase(PG_URL);
  const { db } = bench;
  try {
    const ctx = await ctxFor(db, "ds@example.com");
    const [team] = await db.select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    await db.update(teamQuotas).set({ maxConcurrentJobs: 10, cpu: 1000, memoryGib: 1000 }).where(eq(teamQuotas.teamId, team!.id));
    const { experiment_id: exp } = await createExperiment(ctx, { name: "bench-sweeps", team: "churn" });

    // 1. The example with its default params (only the epoch delay off).
    const started = Date.now();
    const baseline = await submitJob(ctx, exp, trainJobSchema.parse({ source: "examples/churn", command: ["node", "train.mjs", "--epochs", "30", "--epoch-delay-ms=0"], instance_type: "cpu.small", max_runtime_seconds: 600 }));
    for (;;) {
      await tick(db);
      const [row] = await db.select({ status: jobs.status, message: jobs.message }).from(jobs).where(eq(jobs.id, baseline.job_id));
      if (row!.status === "succeeded") break;
      if (row!.status === "failed" || row!.status === "cancelled") throw new Error(`the default run ${row!.status}: ${row!.message} (see ${env().dataDir}/jobs/${baseline.job_id}/output.log)`);
      await sleep(250);
    }
    const metricOf = async (runId: string, key: string) => (await db.select({ v: latestMetrics.value }).from(latestMetrics).where(and(eq(latestMetrics.runId, runId), eq(latestMetrics.key, key))))[0]?.v ?? null;
    const defaultObjective = await metricOf(baseline.run_id, METRIC);
    if (defaultObjective === null) throw new Error(`the default run logged no ${METRIC}`);
    const defaults = { [METRIC]: defaultObjective, val_auc: await metricOf(baseline.run_id, "val_auc"), seconds: (Date.now() - started) / 1000 };
    console.log(`defaults (lr 0.02, l2 0.001, batch-size 64, epochs 30): ${METRIC} ${defaultObjective}, val_auc ${defaults.val_auc} (${defaults.seconds.toFixed(1)} s)`);

    // 2. A random and a Bayesian sweep, each of TRIALS trials.
    const optuna = await bayesianAvailability();
    const results: Record<string, unknown>[] = [];
    for (const algorithm of ["random", "bayesian"] as const) {
      if (algorithm === "bayesian" && !optuna.available) {
        console.log(`bayesian: skipped — ${optuna.message}`);
        results.push({ algorithm, skipped: optuna.message });
        continue;
      }
      const t0 = Date.now();
      const sweep = await createSweep(ctx, exp, createSweepSchema.parse({
        name: `${algorithm} churn`, space: SPACE, objective: { metric: METRIC, direction: DIRECTION }, algorithm, max_trials: TRIALS, parallelism: PARALLELISM, seed: SEED,
        template: { source: "examples/churn", instance_type: "cpu.small", max_runtime_seconds: 600 },
      }));
      let firstBetter: number | null = null;
      for (;;) {
        await driveSweep(db, sweep.sweep_id);
        await tick(db);
        const [row] = await db.select({ state: sweeps.state, message: sweeps.message }).from(sweeps).where(eq(sweeps.id, sweep.sweep_id));
        if (row!.state === "failed") throw new Error(`${algorithm} sweep failed: ${row!.message}`);
        if (row!.state === "finished") break;
        await sleep(250);
      }
      const done = await getSweep(ctx, sweep.sweep_id);
      const sign = DIRECTION === "minimize" ? 1 : -1;
      let bestSoFar = Number.POSITIVE_INFINITY;
      const curve: (number | null)[] = [];
      for (const t of done.trials) {
        if (t.state === "succeeded" && t.objective !== null && sign * t.objective < bestSoFar) bestSoFar = sign * t.objective;
        curve.push(Number.isFinite(bestSoFar) ? sign * bestSoFar : null);
        if (firstBetter === null && Number.isFinite(bestSoFar) && bestSoFar < sign * defaultObjective) firstBetter = t.number + 1;
      }
      const best = done.best_trial;
      const bestAuc = best ? await metricOf(best.run_id, "val_auc") : null;
      const result = {
        algorithm, trials: done.counts.total, succeeded: done.counts.succeeded, failed: done.counts.failed,
        best: best ? { number: best.number, [METRIC]: best.objective, val_auc: bestAuc, params: best.params } : null,
        better_than_defaults: best !== null && sign * best.objective! < sign * defaultObjective,
        first_better_trial: firstBetter, best_so_far: curve, seconds: Math.round((Date.now() - t0) / 100) / 10,
      };
      console.log(`${algorithm}: best ${METRIC} ${best?.objective} (trial ${best?.number}, val_auc ${bestAuc}) vs defaults ${defaultObjective}; first better at trial ${firstBetter}; ${result.seconds} s`);
      results.push(result);
    }
    writeFileSync(OUT, `${JSON.stringify({
      at: new Date().toISOString(), machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? "" },
      objective: { metric: METRIC, direction: DIRECTION }, trials: TRIALS, parallelism: PARALLELISM, seed: SEED, space: SPACE, defaults, sweeps: results,
    }, null, 2)}\n`);
    console.log(`wrote ${OUT}`);
  } finally {
    await bench.close(false);
    server.close();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
