// Target 3: log-batch through the MLflow REST adapter (handleMlflow + bearer token), sequentially in
// 1000-metric batches, and as 20 concurrent clients sending 10-metric batches. Request bodies are
// built before the clock starts (a client has them ready too).
import type pg from "pg";
import type { ExplainedQuery } from "./explain";
import type { CpuShare } from "./cpu";
import { cpuSince, cpuSnapshot } from "./cpu";
import { captureQueries, explainAll } from "./explain";
import { mlflowCall } from "./http";
import type { Summary } from "./stats";
import { log, now, round, summarize } from "./stats";

export const BATCH_KEYS = 10;
const T0 = Date.UTC(2025, 5, 1);

/** The metric points of batch `b` of a run: BATCH_KEYS keys × (size / BATCH_KEYS) consecutive steps. */
export function batchPoints(b: number, size: number): { key: string; value: number; step: number; timestamp: number }[] {
  const steps = Math.max(1, Math.floor(size / BATCH_KEYS));
  const out: { key: string; value: number; step: number; timestamp: number }[] = [];
  for (let s = 0; s < steps; s++) {
    const step = b * steps + s;
    for (let k = 0; k < BATCH_KEYS && out.length < size; k++) {
      out.push({ key: `k${k}`, value: Math.exp(-step / 5000) + 0.01 * Math.sin(step + k), step, timestamp: T0 + step * 100 });
    }
  }
  return out;
}

function batchBody(runId: string, b: number, size: number): string {
  return JSON.stringify({ run_id: runId, metrics: batchPoints(b, size), params: [], tags: [] });
}

export type SequentialResult = {
  batches: number; batchSize: number; metrics: number; wallMs: number; metricsPerSecond: number; latencyMs: Summary;
  /** Latency of the first and last tenth of the batches: does a request get slower as the run's history grows? */
  firstTenthMs: Summary; lastTenthMs: Summary;
  explain: ExplainedQuery[];
};

export async function runSequentialIngest(env: { token: string; raw: pg.Client; runId: string; warmupRunId: string }, batches: number, batchSize = 1000): Promise<SequentialResult> {
  const warm = Array.from({ length: 5 }, (_, b) => batchBody(env.warmupRunId, b, batchSize));
  for (const body of warm) await mlflowCall(env.token, "POST", "runs/log-batch", body);
  const bodies = Array.from({ length: batches }, (_, b) => batchBody(env.runId, b, batchSize));
  const latencies: number[] = [];
  const started = now();
  for (const body of bodies) {
    const t = now();
    await mlflowCall(env.token, "POST", "runs/log-batch", body);
    latencies.push(now() - t);
  }
  const wallMs = now() - started;
  const metrics = batches * batchSize;
  const { queries } = await captureQueries(() => mlflowCall(env.token, "POST", "runs/log-batch", batchBody(env.warmupRunId, 5, batchSize)), env.raw);
  const explain = await explainAll(env.raw, queries);
  const tenth = Math.max(1, Math.floor(batches / 10));
  const result = {
    batches, batchSize, metrics, wallMs: round(wallMs), metricsPerSecond: round(metrics / (wallMs / 1000), 0), latencyMs: summarize(latencies),
    firstTenthMs: summarize(latencies.slice(0, tenth)), lastTenthMs: summarize(latencies.slice(-tenth)), explain,
  };
  log(`  sequential log-batch: ${metrics} metrics in ${(wallMs / 1000).toFixed(2)} s = ${result.metricsPerSecond} metrics/s (p50 ${result.latencyMs.p50} ms per batch; first tenth ${result.firstTenthMs.p50} ms, last tenth ${result.lastTenthMs.p50} ms)`);
  return result;
}

export type ConcurrentResult = {
  clients: number; requestsPerClient: number; batchSize: number;
  /** Pause between a client's requests (0: closed loop, each client sends its next request as soon as the last answers). */
  intervalMs: number;
  wallMs: number; requestsPerSecond: number; metricsPerSecond: number; latencyMs: Summary;
  /** Cores used meanwhile by this process, the bench database's backends, and everything else. */
  cpu?: CpuShare;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `runIds.length` clients, each logging `requestsPerClient` batches into its own run. With `intervalMs` 0 it is a
 * closed loop (latency ≈ clients ÷ throughput once the server saturates); otherwise each client starts a request
 * every `intervalMs` (or as soon as the previous one answers, if that takes longer), with random initial offsets.
 */
export async function runConcurrentIngest(
  env: { token: string; runIds: string[]; database?: string }, requestsPerClient: number, batchSize = 10, intervalMs = 0, firstBatch = 1, warmupPerClient = 1,
): Promise<ConcurrentResult & { warmup?: { requests: number; latencyMs: Summary; requestsPerSecond: number } }> {
  const clients = env.runIds.length;
  // Warm-up, untimed in the result: the same closed loop (into the same runs, earlier steps), so the measured
  // round sees a process and connections past V8's tiering and the statement's first plans — a server that has
  // been up for a while, as in production. Its own latencies are reported beside the result.
  const warmLatencies: number[] = [];
  const warmStart = now();
  await Promise.all(env.runIds.map(async (runId) => {
    for (let w = 0; w < warmupPerClient; w++) {
      const t = now();
      await mlflowCall(env.token, "POST", "runs/log-batch", batchBody(runId, firstBatch + w, batchSize));
      warmLatencies.push(now() - t);
    }
  }));
  const warmMs = now() - warmStart;
  firstBatch += warmupPerClient;
  const bodies = env.runIds.map((runId) => Array.from({ length: requestsPerClient }, (_, r) => batchBody(runId, firstBatch + r, batchSize)));
  const latencies: number[] = [];
  const cpu = env.database ? cpuSnapshot(env.database) : undefined;
  const started = now();
  await Promise.all(bodies.map(async (mine) => {
    if (intervalMs > 0) await sleep(Math.random() * intervalMs);
    for (const body of mine) {
      const t = now();
      await mlflowCall(env.token, "POST", "runs/log-batch", body);
      const took = now() - t;
      latencies.push(took);
      if (intervalMs > took) await sleep(intervalMs - took);
    }
  }));
  const wallMs = now() - started;
  const requests = clients * requestsPerClient;
  const result = {
    clients, requestsPerClient, batchSize, intervalMs, wallMs: round(wallMs),
    requestsPerSecond: round(requests / (wallMs / 1000), 0), metricsPerSecond: round((requests * batchSize) / (wallMs / 1000), 0),
    latencyMs: summarize(latencies), cpu: cpu && env.database ? cpuSince(cpu, env.database) : undefined,
    warmup: warmupPerClient > 1 ? { requests: clients * warmupPerClient, latencyMs: summarize(warmLatencies), requestsPerSecond: round((clients * warmupPerClient) / (warmMs / 1000), 0) } : undefined,
  };
  const share = result.cpu ? ` (cores used: this process ${result.cpu.nodeCores}, its PostgreSQL backends ${result.cpu.postgresCores}, everything else ${result.cpu.otherCores})` : "";
  log(`  ${clients} clients × ${requestsPerClient} × ${batchSize}-metric batches${intervalMs ? `, one every ${intervalMs} ms per client` : ", closed loop"}: p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms, ${result.requestsPerSecond} req/s${share}`);
  return result;
}

export type LargeRunResult = { existingPoints: number; batches: number; batchSize: number; latencyMs: Summary };

/** 1000-metric batches into a run that already holds `existingPoints` points of `key` (steps after them). */
export async function runLargeRunIngest(env: { token: string; runId: string; key: string; existingPoints: number }, batches: number, batchSize = 1000): Promise<LargeRunResult> {
  const bodies = Array.from({ length: batches }, (_, b) => JSON.stringify({
    run_id: env.runId, params: [], tags: [],
    metrics: Array.from({ length: batchSize }, (_, i) => {
      const step = env.existingPoints + b * batchSize + i;
      return { key: env.key, value: 1 / (1 + step / 10000), step, timestamp: T0 + step * 10 };
    }),
  }));
  const latencies: number[] = [];
  for (const body of bodies) {
    const t = now();
    await mlflowCall(env.token, "POST", "runs/log-batch", body);
    latencies.push(now() - t);
  }
  const result = { existingPoints: env.existingPoints, batches, batchSize, latencyMs: summarize(latencies) };
  log(`  log-batch into a run with ${env.existingPoints} points: p50 ${result.latencyMs.p50} ms per ${batchSize}-metric batch`);
  return result;
}
