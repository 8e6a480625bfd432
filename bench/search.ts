// Target 2: the first page (100 runs) of search_runs over the 100k-run experiment.
import { and, count, eq } from "drizzle-orm";
import type pg from "pg";
import type { Db } from "@/db/client";
import { runs } from "@/db/schema";
import { searchRunsSchema } from "@/lib/schemas/mlflow";
import type { Ctx } from "@/server/context";
import { parseSearch } from "@/server/tracking/run-page";
import { searchRuns } from "@/server/tracking/search";
import type { ExplainedQuery } from "./explain";
import { captureQueries, explainAll } from "./explain";
import { mlflowCall } from "./http";
import type { Summary } from "./stats";
import { log, sample, summarize } from "./stats";

export type SearchCase = { id: string; label: string; filter: string; orderBy: string[]; via: "service" | "http"; target: boolean };

export const SEARCH_CASES: SearchCase[] = [
  { id: "search_filter_sort", label: "filter + metric sort", filter: "metrics.m3 > 0.5 and params.p1 = 'v7'", orderBy: ["metrics.m0 DESC"], via: "service", target: true },
  { id: "search_sort_only", label: "metric sort, no filter", filter: "", orderBy: ["metrics.m0 DESC"], via: "service", target: true },
  { id: "search_or_filter", label: "OR filter + metric sort", filter: "params.p1 = 'v7' or metrics.m3 > 0.99", orderBy: ["metrics.m0 DESC"], via: "service", target: true },
  { id: "search_default", label: "no filter, default order (start_time)", filter: "", orderBy: [], via: "service", target: false },
  { id: "search_filter_sort_http", label: "filter + metric sort, via HTTP adapter", filter: "metrics.m3 > 0.5 and params.p1 = 'v7'", orderBy: ["metrics.m0 DESC"], via: "http", target: false },
];

export type SearchResult = SearchCase & { matching: number; returned: number; latencyMs: Summary; explain: ExplainedQuery[] };

export async function runSearchBench(
  env: { db: Db; ctx: Ctx; token: string; raw: pg.Client; experimentId: number },
  iterations: number,
): Promise<SearchResult[]> {
  const results: SearchResult[] = [];
  for (const c of SEARCH_CASES) {
    const body = { experiment_ids: [String(env.experimentId)], filter: c.filter, order_by: c.orderBy, max_results: 100 };
    const input = searchRunsSchema.parse(body);
    const once = c.via === "service"
      ? async () => (await searchRuns(env.ctx, input)).runs.length
      : async () => ((await mlflowCall(env.token, "POST", "runs/search", body)) as { runs?: unknown[] }).runs?.length ?? 0;
    const { where } = parseSearch(c.filter, []);
    const [{ n } = { n: 0 }] = await env.db.select({ n: count() }).from(runs).where(and(eq(runs.experimentId, env.experimentId), where));
    const returned = await once();
    const samples = await sample(iterations, 3, once);
    const latencyMs = summarize(samples);
    const { queries } = await captureQueries(() => searchRuns(env.ctx, input), env.raw);
    const explain = await explainAll(env.raw, queries);
    log(`  ${c.id}: ${n} matching, ${returned} returned, p50 ${latencyMs.p50} ms, p95 ${latencyMs.p95} ms`);
    results.push({ ...c, matching: Number(n), returned, latencyMs, explain });
  }
  return results;
}
