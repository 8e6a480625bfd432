// Issue 12, "one search stalls everyone": a 200-condition search took 12.6 s and another team's search
// took 10 s meanwhile. A filter now holds at most 50 comparisons, a group's comparisons on one table share
// one pass over the run's rows, and each team has its own few query slots — so one team's heaviest
// allowed searches leave another team's searches about as fast as they are alone.
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { GET as browseRoute } from "./route";
import { experiments } from "@/db/schema";
import { eq } from "drizzle-orm";
import type { ErrorBody, Run } from "@/server/mlflow/test-client";
import { createExperiment, post } from "@/server/mlflow/test-client";
import { call, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { env } from "@/server/env";
import { REFUSAL_CHARGE_MS } from "@/server/tracking/query-budget";

// Each team's slots as in production (no CAIRN_QUERY_SLOTS_PER_TEAM): half the cores on PostgreSQL, 1 on PGlite.
const db = demoDatabase();
let churnToken = "";
let fraudToken = "";
let churnExp = "";
let fraudExp = "";

/** `n` finished runs, each with params p0…p19 (v0…v19), latest metrics m0…m19 in [0, 1) and tags t0…t9. */
async function loadRuns(experimentId: string, n: number, seed: string): Promise<void> {
  const [exp] = await db().select({ teamId: experiments.teamId }).from(experiments).where(eq(experiments.id, Number(experimentId)));
  const id = sql`md5(${seed} || i)`;
  await db().execute(sql`
    insert into runs (id, experiment_id, team_id, name, status, start_time, end_time, user_id, lifecycle_stage, artifact_uri)
    select ${id}, ${Number(experimentId)}, ${exp!.teamId}, 'load-' || i, 'FINISHED', 1700000000000 + i, 1700000000000 + i + 1, 'loader', 'active', 'mlflow-artifacts:/x/' || i
    from generate_series(1, ${n}) i`);
  const ofExperiment = sql`(select id from runs where experiment_id = ${Number(experimentId)}) r`;
  await db().execute(sql`insert into params (run_id, key, value) select r.id, 'p' || j, 'v' || (abs(hashtext(r.id || j)) % 20) from ${ofExperiment} cross join generate_series(0, 19) j`);
  await db().execute(sql`insert into latest_metrics (run_id, key, value, step, timestamp) select r.id, 'm' || j, (abs(hashtext(r.id || j)) % 1000) / 1000.0, 0, 0 from ${ofExperiment} cross join generate_series(0, 19) j`);
  await db().execute(sql`insert into run_tags (run_id, key, value) select r.id, 't' || j, 'x' || (abs(hashtext(r.id || j)) % 10) from ${ofExperiment} cross join generate_series(0, 9) j`);
  await db().execute(sql`analyze runs, params, latest_metrics, run_tags`);
}

/** `n` comparisons over params, metrics and tags that every loaded run satisfies. */
function conditions(n: number): string {
  return Array.from({ length: n }, (_, i) => [`params.p${i % 20} != 'none${i}'`, `metrics.m${i % 20} >= 0`, `tags.t${i % 10} LIKE 'x%'`][i % 3]).join(" and ");
}

type Search = { runs?: Run[]; next_page_token?: string } & ErrorBody;
const search = (token: string, experimentId: string, filter: string, orderBy: string[] = [], maxResults = 100) =>
  post<Search>(token, "runs/search", { experiment_ids: [experimentId], filter, order_by: orderBy, max_results: maxResults });
const browse = (token: string, experimentId: string, filter: string) =>
  call(browseRoute, { path: `/api/v1/experiments/${experimentId}/runs?${new URLSearchParams({ filter, order_by: "metrics.m0 DESC" })}`, token, params: { id: experimentId } });

async function timed<T>(fn: () => Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await fn();
  return { result, ms: performance.now() - started };
}

/** The other team's latencies: `n` of its small filtered searches one after another, each answered 200. */
async function sample(n: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const { result, ms: took } = await timed(() => search(fraudToken, fraudExp, "params.p1 = 'v1' and metrics.m2 > 0.5", ["metrics.m0 DESC"], 50));
    expect(result.status, result.text).toBe(200);
    ms.push(took);
  }
  return ms;
}

function p99(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

beforeAll(async () => {
  churnToken = await tokenFor(db(), DEMO.ds, "churn");
  fraudToken = await tokenFor(db(), DEMO.dsFraud, "fraud");
  churnExp = await createExperiment(churnToken, `load-${Date.now()}`);
  fraudExp = await createExperiment(fraudToken, `load-${Date.now()}`);
  await loadRuns(churnExp, 2000, "churn");
  await loadRuns(fraudExp, 200, "fraud");
}, 120_000);

describe("a search's cost is bounded", () => {
  it("refuses 200 (and the review's 459) conditions at once with an error naming the limit, in both APIs", async () => {
    for (const n of [200, 459]) {
      const filter = n === 459 ? Array.from({ length: n }, (_, i) => `params.a${i % 9} = 'b'`).join(" and ") : conditions(n);
      expect(filter.length).toBeLessThan(10_000);
      const { result: mlflow, ms } = await timed(() => search(churnToken, churnExp, filter, ["metrics.m0 DESC"]));
      expect(mlflow.status).toBe(400);
      expect(mlflow.json.error_code).toBe("INVALID_PARAMETER_VALUE");
      expect(mlflow.json.message).toMatch(/More than 50 conditions at position \d+: a filter may hold at most 50 comparisons/);
      expect(ms).toBeLessThan(1000);
      const v1 = await browse(churnToken, churnExp, filter);
      expect(v1.status).toBe(400);
      expect(v1.json).toMatchObject({ error: { code: "invalid_input", message: expect.stringMatching(/a filter may hold at most 50 comparisons/) } });
    }
  });

  it("answers the heaviest allowed search (50 conditions, sorted by a metric) over 2,000 runs within a second", async () => {
    const filter = conditions(50);
    await search(churnToken, churnExp, filter, ["metrics.m0 DESC"]);
    const { result, ms } = await timed(() => search(churnToken, churnExp, filter, ["metrics.m0 DESC"]));
    expect(result.status, result.text).toBe(200);
    expect(result.json.runs).toHaveLength(100);
    expect(result.json.next_page_token).toBeDefined();
    expect(ms).toBeLessThan(1000);
    const v1 = await timed(() => browse(churnToken, churnExp, filter));
    expect(v1.result.status).toBe(200);
    expect(v1.result.json).toMatchObject({ total: 2000 });
    expect(v1.ms).toBeLessThan(1000);
  });

  it("keeps another team's p99 while one team fires its heaviest searches", async () => {
    await sample(5);
    const alone = p99(await sample(40));

    // Churn: 8 clients back to back (more than its slots), 50-condition searches sorted three ways,
    // and 200-condition ones that are refused.
    let stop = false;
    const statuses: number[] = [];
    const orders = [["metrics.m0 DESC"], ["params.p3 ASC"], []];
    const heavy = Array.from({ length: 8 }, async (_, client) => {
      for (let i = 0; !stop; i++) {
        const filter = (client + i) % 4 === 3 ? conditions(200) : conditions(50);
        statuses.push((await search(churnToken, churnExp, filter, orders[(client + i) % 3]!)).status);
        // As over a network: the next request arrives through the event loop, not in the same microtask chain.
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    while (statuses.length < 8) await new Promise((resolve) => setTimeout(resolve, 10));
    const during = p99(await sample(40));
    stop = true;
    await Promise.all(heavy);

    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(8);
    expect(statuses.every((s) => [200, 400, 429].includes(s))).toBe(true);
    // Before the fix one heavy search ran for seconds (12.6 s in the review) and held up every other team's
    // search for as long; with 4 slots per team on 2 cores the other team's p99 still went 14 → 167 ms. Now a
    // team's heavy reads take at most half the cores, one connection each, and the other team's p99 stays
    // within tens of milliseconds of its own alone (what remains is this one process's event loop
    // serializing the heavy team's 100-run pages — here the test client parses them in it too).
    console.info(`[search-load] fraud p99 alone ${alone.toFixed(0)} ms, while churn fires heavy searches ${during.toFixed(0)} ms (${statuses.length} churn searches)`);
    expect(during).toBeLessThanOrEqual(Math.max(4 * alone, alone + 100));
  }, 120_000);

  it("paces a caller firing refused requests back to back (200 conditions, a bad page token, max_results 0, an unknown endpoint) while another team reads, and keeps that team's p99", async () => {
    await sample(5);
    // 200 samples: a p99 that is not just the slowest one (one stall of a busy test machine).
    const alone = p99(await sample(200));

    let stop = false;
    const statuses: number[] = [];
    const refused = [
      { experiment_ids: [churnExp], filter: conditions(200) },
      { experiment_ids: [churnExp], filter: "metrics.m0 > 0", page_token: "not-a-token" },
      { experiment_ids: [churnExp], max_results: 0 },
    ];
    const heavy = Array.from({ length: 8 }, async (_, client) => {
      for (let i = 0; !stop; i++) {
        // Every fourth an unknown endpoint: a 404 the handler returns rather than throws.
        const kind = (client + i) % (refused.length + 1);
        statuses.push((await post<Search>(churnToken, kind === refused.length ? "runs/no-such-endpoint" : "runs/search", refused[kind] ?? {})).status);
        await new Promise((resolve) => setImmediate(resolve));
      }
    });
    while (statuses.length < 8) await new Promise((resolve) => setTimeout(resolve, 10));
    const windowStart = performance.now();
    const before = statuses.length;
    const during = p99(await sample(200));
    const windowMs = performance.now() - windowStart;
    const refusedMeanwhile = statuses.length - before;
    stop = true;
    await Promise.all(heavy);

    expect(statuses.every((s) => s === 400 || s === 404)).toBe(true);
    expect(statuses).toContain(404);
    // One refusal per REFUSAL_CHARGE_MS ÷ share for the caller while a team reads: a dozen a second at the default
    // share, where unpaced they come as fast as the event loop answers them (thousands).
    expect(refusedMeanwhile).toBeLessThanOrEqual(windowMs / (REFUSAL_CHARGE_MS / env().queryLimits.floodShare) + 8);
    console.info(`[search-load] fraud p99 alone ${alone.toFixed(0)} ms, while churn fires refused searches ${during.toFixed(0)} ms (${refusedMeanwhile} refused in ${windowMs.toFixed(0)} ms)`);
    // As for the heavy searches above: this process's own event loop runs both teams' clients and the test machine
    // may be busy; unpaced, it is the count above that shows the flood.
    expect(during).toBeLessThanOrEqual(Math.max(4 * alone, alone + 100));
  }, 120_000);
});
