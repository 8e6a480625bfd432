// Cairn tracking benchmark on PostgreSQL: bulk load, search_runs, log-batch ingest, sampled history,
// and PostgreSQL's own COPY rate for comparison. Prints a table of figures vs targets and writes
// bench/results.json (+ EXPLAIN ANALYZE plans under bench/explain/).
//   npx tsx bench/run.ts [--runs=100000] [--iterations=50] [--keep] [--pg-url=postgres://…/postgres]
import { cpuCalibration } from "./cpu";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { teams } from "@/db/schema";
import { createRunSchema } from "@/lib/schemas/mlflow";
import { createExperiment } from "@/server/tracking/experiments";
import { createRun } from "@/server/tracking/runs";
import { parseArgs } from "./args";
import { runCopyBaseline } from "./compare";
import type { BenchDatabase } from "./db";
import { createBenchDatabase, ctxFor, tokenFor } from "./db";
import type { ExplainedQuery } from "./explain";
import { formatExplained } from "./explain";
import { runHistoryBench } from "./history";
import { createRunHttp } from "./http";
import { runConcurrentIngest, runLargeRunIngest, runSequentialIngest } from "./ingest";
import { rebuildRollups } from "@/server/tracking/rollups";
import { loadHistory, loadSearchData } from "./load";
import type { Row } from "./report";
import { fmtInt, fmtMs, markdownTable } from "./report";
import { runSearchBench } from "./search";
import { log, round } from "./stats";

const USER = "lead@example.com";
const TEAM = "churn";
const HISTORY_KEY = "loss";
const LOAD_BUDGET_MS = 5 * 60_000;
/** The paced variant of the concurrent ingest: each client sends one request every PACED_INTERVAL_MS. */
const PACED_INTERVAL_MS = 200;
const BENCH_DIR = path.join(process.cwd(), "bench");


async function serverInfo(b: BenchDatabase): Promise<Record<string, string>> {
  const settings = ["shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "synchronous_commit", "max_parallel_workers_per_gather", "jit"];
  const res = await b.raw.query<{ name: string; setting: string }>(
    "select name, current_setting(name) as setting from pg_settings where name = any($1) order by name", [settings]);
  const version = await b.raw.query<{ v: string }>("select version() as v");
  return { version: version.rows[0]?.v ?? "?", ...Object.fromEntries(res.rows.map((r) => [r.name, r.setting])) };
}

function explainSummary(e: ExplainedQuery[]): { statement: string; executionMs: number | null }[] {
  return e.map((q) => ({ statement: q.text.replace(/\s+/g, " ").slice(0, 160), executionMs: q.executionMs }));
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = new Date();
  const loadBefore = os.loadavg().map((l) => round(l, 2));
  const calibrationMs = cpuCalibration();
  log(`Cairn tracking bench: ${opts.runs} runs × ${opts.params} params × ${opts.metrics} metrics × ${opts.tags} tags; ${os.cpus().length} CPUs; CPU calibration ${calibrationMs} ms`);
  const bench = await createBenchDatabase(opts.pgUrl);
  log(`database ${bench.name} (migrated, demo organization seeded)`);
  try {
    const { db, raw } = bench;
    const ctx = await ctxFor(db, USER);
    const token = await tokenFor(db, USER, TEAM);
    const [team] = await db.select({ id: teams.id }).from(teams).where(eq(teams.slug, TEAM));
    if (!team || !ctx.actor.userId) throw new Error("demo team/user missing");
    const searchExp = Number((await createExperiment(ctx, { name: "bench-search", team: TEAM })).experiment_id);
    const historyExp = Number((await createExperiment(ctx, { name: "bench-history", team: TEAM })).experiment_id);
    const ingestExp = Number((await createExperiment(ctx, { name: "bench-ingest", team: TEAM })).experiment_id);

    // 1. Data.
    log("1. loading search data (INSERT … SELECT generate_series)");
    const load = await loadSearchData(raw, opts, { experimentId: searchExp, teamId: team.id, userId: ctx.actor.userId, userEmail: USER });
    const historyRun = (await createRun(ctx, createRunSchema.parse({ experiment_id: String(historyExp), run_name: "bench-history" }))).info.run_id;
    log(`   loading ${opts.historyPoints} history points into run ${historyRun}`);
    const historyLoad = await loadHistory(raw, historyRun, HISTORY_KEY, opts.historyPoints);
    // A bulk load bypasses the write path that maintains the chart rollups, so rebuild them (as the seed does).
    const rollupStarted = performance.now();
    await rebuildRollups(db, [historyRun]);
    log(`   metric rollups rebuilt in ${((performance.now() - rollupStarted) / 1000).toFixed(1)} s`);
    await raw.query("checkpoint");
    const sizes = await raw.query<{ table: string; rows: string; size: string }>(`
      select c.relname as table, c.reltuples::bigint::text as rows, pg_size_pretty(pg_total_relation_size(c.oid)) as size
      from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind = 'r' and c.relname in ('runs', 'params', 'run_tags', 'metrics', 'latest_metrics') order by c.relname`);
    log(`   loaded in ${(load.totalMs / 1000).toFixed(1)} s (+ history ${(historyLoad.totalMs / 1000).toFixed(1)} s): ${sizes.rows.map((s) => `${s.table} ${s.rows} rows ${s.size}`).join(", ")}`);
    if (opts.loadOnly) {
      log(`--load-only: search experiment ${searchExp}, history run ${historyRun} (key ${HISTORY_KEY}), database ${bench.url}`);
      return;
    }

    // 2. Search.
    log(`2. search_runs, ${opts.iterations} iterations each`);
    const search = await runSearchBench({ db, ctx, token, raw, experimentId: searchExp }, opts.iterations);

    // 4. Sampled history (before the ingest so the metrics table is as loaded).
    log(`4. sampled history, ${opts.iterations} iterations`);
    const history = await runHistoryBench({ ctx, token, raw, runId: historyRun, key: HISTORY_KEY, points: opts.historyPoints }, opts.iterations);

    // 3. Ingest through the HTTP adapter.
    log(`3. log-batch via handleMlflow: ${opts.ingestBatches} × 1000 metrics, then ${opts.clients} clients × ${opts.requestsPerClient} × 10 metrics`);
    const seqRun = await createRunHttp(token, ingestExp, "bench-ingest-sequential");
    const warmRun = await createRunHttp(token, ingestExp, "bench-ingest-warmup");
    const sequential = await runSequentialIngest({ token, raw, runId: seqRun, warmupRunId: warmRun }, opts.ingestBatches);
    const clientRuns: string[] = [];
    for (let i = 0; i < opts.clients; i++) clientRuns.push(await createRunHttp(token, ingestExp, `bench-ingest-client-${i}`));
    // The closed loop is measured after a warm-up round of the same size (see runConcurrentIngest).
    const concurrent = await runConcurrentIngest({ token, runIds: clientRuns, database: bench.name }, opts.requestsPerClient, 10, 0, 1, opts.requestsPerClient);
    const paced = await runConcurrentIngest({ token, runIds: clientRuns, database: bench.name }, opts.requestsPerClient, 10, PACED_INTERVAL_MS, 2 * opts.requestsPerClient + 1);
    const largeRun = await runLargeRunIngest({ token, runId: historyRun, key: HISTORY_KEY, existingPoints: opts.historyPoints }, 10);

    // 5. PostgreSQL's own COPY for the same rows.
    log(`5. COPY baseline: ${sequential.metrics} metric rows`);
    const baseline = await runCopyBaseline(raw, seqRun, opts.ingestBatches, 1000);
    const ratioCopy = sequential.metricsPerSecond / baseline.copy.rowsPerSecond;
    const ratioInsert = sequential.metricsPerSecond / baseline.insertSelect.rowsPerSecond;

    // The table.
    const rows: Row[] = [
      {
        target: `Load ${fmtInt(opts.runs)} runs × ${opts.params} params × ${opts.metrics} metrics × ${opts.tags} tags (INSERT … SELECT, + VACUUM ANALYZE)`,
        measured: fmtMs(load.totalMs), goal: "≤ 5 min", pass: load.totalMs <= LOAD_BUDGET_MS,
      },
      ...search.map((s): Row => ({
        target: `search_runs first page (100): ${s.label}${s.filter ? ` — \`${s.filter}\`` : ""}${s.orderBy.length ? `, \`${s.orderBy.join(", ")}\`` : ""} (${fmtInt(s.matching)} match) — p50 / **p95**`,
        measured: `${fmtMs(s.latencyMs.p50)} / **${fmtMs(s.latencyMs.p95)}**`, goal: "p95 ≤ 100 ms", pass: s.target ? s.latencyMs.p95 <= 100 : null,
      })),
      {
        target: `log-batch, ${sequential.batchSize} metrics/request, 1 client, via handleMlflow (${fmtInt(sequential.metrics)} metrics; p50 ${fmtMs(sequential.latencyMs.p50)}/request)`,
        measured: `${fmtInt(sequential.metricsPerSecond)} metrics/s`, goal: "≥ 30,000 metrics/s", pass: sequential.metricsPerSecond >= 30_000,
      },
      {
        target: `log-batch into a run already holding ${fmtInt(largeRun.existingPoints)} points (${largeRun.batches} × ${largeRun.batchSize} metrics) — p50 per request; for comparison the 1-client run above: first tenth p50 ${fmtMs(sequential.firstTenthMs.p50)}, last tenth p50 ${fmtMs(sequential.lastTenthMs.p50)}`,
        measured: fmtMs(largeRun.latencyMs.p50), goal: "—", pass: null,
      },
      {
        target: `log-batch, ${concurrent.batchSize} metrics/request, ${concurrent.clients} concurrent clients (${fmtInt(concurrent.clients * concurrent.requestsPerClient)} requests, ${fmtInt(concurrent.requestsPerSecond)} req/s${concurrent.cpu ? `; other processes used ${concurrent.cpu.otherCores} of 2 cores meanwhile` : ""}${concurrent.warmup ? `; after a warm-up round of ${fmtInt(concurrent.warmup.requests)} requests, which ran p50 ${fmtMs(concurrent.warmup.latencyMs.p50)} / p99 ${fmtMs(concurrent.warmup.latencyMs.p99)} at ${fmtInt(concurrent.warmup.requestsPerSecond)} req/s` : ""}) — p50 / **p99**`,
        measured: `${fmtMs(concurrent.latencyMs.p50)} / **${fmtMs(concurrent.latencyMs.p99)}**`, goal: "p99 ≤ 50 ms", pass: concurrent.latencyMs.p99 <= 50,
      },
      {
        target: `same, paced: each of the ${paced.clients} clients sends one request every ${paced.intervalMs} ms (${fmtInt(paced.requestsPerSecond)} req/s) — p50 / p99`,
        measured: `${fmtMs(paced.latencyMs.p50)} / ${fmtMs(paced.latencyMs.p99)}`, goal: "—", pass: null,
      },
      {
        target: `getSampledHistory, max_points 1000, ${fmtInt(history.points)}-point metric (${history.returned} points returned) — p50 / **p95**`,
        measured: `${fmtMs(history.service.p50)} / **${fmtMs(history.service.p95)}**`, goal: "p95 ≤ 50 ms", pass: history.service.p95 <= 50,
      },
      {
        target: "same, via HTTP adapter (GET metrics/get-history-sampled) — p50 / p95",
        measured: `${fmtMs(history.http.p50)} / ${fmtMs(history.http.p95)}`, goal: "—", pass: null,
      },
      {
        target: `Ingest vs COPY: Cairn log-batch ${fmtInt(sequential.metricsPerSecond)}/s ÷ COPY FROM STDIN ${fmtInt(baseline.copy.rowsPerSecond)} rows/s (same ${fmtInt(baseline.copy.rows)} rows, same table shape)`,
        measured: `${(ratioCopy * 100).toFixed(1)} %`, goal: "report", pass: null,
      },
      {
        target: `Ingest vs server-side INSERT … SELECT generate_series (${fmtInt(baseline.insertSelect.rowsPerSecond)} rows/s)`,
        measured: `${(ratioInsert * 100).toFixed(1)} %`, goal: "report", pass: null,
      },
    ];
    const table = markdownTable(rows);

    const explainDir = path.join(BENCH_DIR, "explain");
    mkdirSync(explainDir, { recursive: true });
    for (const s of search) writeFileSync(path.join(explainDir, `${s.id}.txt`), formatExplained(`${s.label}: filter ${JSON.stringify(s.filter)}, order_by ${JSON.stringify(s.orderBy)}`, s.explain));
    writeFileSync(path.join(explainDir, "sampled_history.txt"), formatExplained("getSampledHistory, max_points 1000", history.explain));
    writeFileSync(path.join(explainDir, "log_batch.txt"), formatExplained("log-batch of 1000 metrics (writes explained in a rolled-back transaction)", sequential.explain));

    const results = {
      date: started.toISOString(),
      durationS: round((Date.now() - started.getTime()) / 1000, 1),
      command: `npx tsx bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
      machine: { cpuCalibrationMs: calibrationMs, loadAverageBefore: loadBefore, loadAverageAfter: os.loadavg().map((l) => round(l, 2)), cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? "?", memoryGiB: round(os.totalmem() / 2 ** 30, 1), os: `${os.type()} ${os.release()}`, node: process.version },
      postgres: await serverInfo(bench),
      options: { ...opts, pgUrl: undefined },
      table: rows,
      load: { ...load, history: historyLoad, tables: sizes.rows },
      search: search.map((s) => ({ ...s, explain: explainSummary(s.explain) })),
      history: { ...history, explain: explainSummary(history.explain) },
      ingest: { sequential: { ...sequential, explain: explainSummary(sequential.explain) }, concurrent, paced, largeRun },
      copyBaseline: { ...baseline, ratioCairnToCopy: round(ratioCopy, 4), ratioCairnToInsertSelect: round(ratioInsert, 4) },
    };
    writeFileSync(path.resolve(opts.out), `${JSON.stringify(results, null, 2)}\n`);
    console.log(`\n${table}\n`);
    log(`wrote ${opts.out} and bench/explain/*.txt in ${results.durationS} s`);
  } finally {
    await bench.close(opts.keep);
    log(opts.keep ? `kept database ${bench.name}` : `dropped database ${bench.name}`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
