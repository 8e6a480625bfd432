// Target 4: a downsampled chart series (max_points 1000) of a metric with 1M points.
import type pg from "pg";
import type { Ctx } from "@/server/context";
import { getSampledHistory } from "@/server/tracking/history";
import type { ExplainedQuery } from "./explain";
import { captureQueries, explainAll } from "./explain";
import { mlflowCall } from "./http";
import type { Summary } from "./stats";
import { log, sample, summarize } from "./stats";

export type HistoryResult = { points: number; returned: number; service: Summary; http: Summary; explain: ExplainedQuery[] };

export async function runHistoryBench(
  env: { ctx: Ctx; token: string; raw: pg.Client; runId: string; key: string; points: number },
  iterations: number,
): Promise<HistoryResult> {
  const input = { run_id: env.runId, metric_key: env.key, max_points: 1000 };
  const first = await getSampledHistory(env.ctx, input);
  if (first.total_points !== env.points) throw new Error(`history run has ${first.total_points} points, expected ${env.points}`);
  const service = summarize(await sample(iterations, 3, () => getSampledHistory(env.ctx, input)));
  const http = summarize(await sample(Math.min(iterations, 20), 1, () => mlflowCall(env.token, "GET", "metrics/get-history-sampled", undefined, input)));
  const { queries } = await captureQueries(() => getSampledHistory(env.ctx, input), env.raw);
  const explain = await explainAll(env.raw, queries);
  log(`  sampled history: ${first.metrics.length} of ${first.total_points} points, p50 ${service.p50} ms, p95 ${service.p95} ms`);
  return { points: first.total_points, returned: first.metrics.length, service, http, explain };
}
