// Row 9 on its own, for iterating on the 10-metric log-batch path: counts the statements (round trips)
// one steady-state request sends, lists them, then runs the 20-client closed loop `--repeat` times.
//   npx tsx bench/log-batch.ts [--clients 20] [--requests-per-client 50] [--repeat 3] [--load-runs 0] [--explain] [--pg-url=…]
import os from "node:os";
import type pg from "pg";
import { createExperiment } from "@/server/tracking/experiments";
import { createBenchDatabase, ctxFor, tokenFor } from "./db";
import { cpuSince, cpuSnapshot } from "./cpu";
import { captureQueries, explainAll, formatExplained } from "./explain";
import { createRunHttp, mlflowCall } from "./http";
import { batchPoints, runConcurrentIngest } from "./ingest";
import { loadSearchData } from "./load";
import { log } from "./stats";

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const inline = process.argv.find((a) => a.startsWith(`--${name}=`));
  const raw = inline ? inline.split("=")[1] : i >= 0 ? process.argv[i + 1] : undefined;
  return raw === undefined ? fallback : Number(raw);
}

async function main(): Promise<void> {
  const pgUrl = process.argv.find((a) => a.startsWith("--pg-url="))?.slice("--pg-url=".length) ?? "postgres://postgres@127.0.0.1:5432/postgres";
  const clients = flag("clients", 20);
  const perClient = flag("requests-per-client", 50);
  const repeat = flag("repeat", 3);
  log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  const bench = await createBenchDatabase(pgUrl);
  try {
    const ctx = await ctxFor(bench.db, "lead@example.com");
    const token = await tokenFor(bench.db, "lead@example.com", "churn");
    const exp = Number((await createExperiment(ctx, { name: "bench-log-batch", team: "churn" })).experiment_id);
    const loadRuns = flag("load-runs", 0);
    if (loadRuns > 0) {
      // The full bench's data around the ingest (bulk rows in the same tables), to compare with an empty database.
      const searchExp = Number((await createExperiment(ctx, { name: "bench-search", team: "churn" })).experiment_id);
      const load = await loadSearchData(bench.raw, { runs: loadRuns, params: 20, metrics: 20, tags: 10 }, { experimentId: searchExp, teamId: (await bench.raw.query<{ id: string }>("select id from teams where slug = 'churn'")).rows[0]!.id, userId: ctx.actor.userId!, userEmail: "lead@example.com" });
      log(`loaded ${loadRuns} runs in ${(load.totalMs / 1000).toFixed(1)} s`);
    }
    const runIds: string[] = [];
    for (let i = 0; i < clients; i++) runIds.push(await createRunHttp(token, exp, `client-${i}`));

    // Round trips of one steady-state request (keys already recorded, token's last-used fresh).
    const body = (b: number) => JSON.stringify({ run_id: runIds[0], metrics: batchPoints(b, 10), params: [], tags: [] });
    await mlflowCall(token, "POST", "runs/log-batch", body(1000));
    const { queries } = await captureQueries(() => mlflowCall(token, "POST", "runs/log-batch", body(1001)), bench.raw);
    log(`one 10-metric request: ${queries.length} round trips`);
    for (const q of queries) log(`  ${q.text.replace(/\s+/g, " ").slice(0, 140)}`);
    if (process.argv.includes("--explain")) {
      const again = await captureQueries(() => mlflowCall(token, "POST", "runs/log-batch", body(1002)), bench.raw);
      console.log(formatExplained("one 10-metric log-batch", await explainAll(bench.raw, again.queries)));
    }

    for (let r = 0; r < repeat; r++) {
      const cpu = cpuSnapshot(bench.name);
      const result = await runConcurrentIngest({ token, runIds }, perClient, 10, 0, 1 + r * perClient);
      const share = cpuSince(cpu, bench.name);
      const requests = clients * perClient;
      log(`    CPU per request: node ${(share.nodeMs / requests).toFixed(2)} ms, postgres backends ${(share.postgresMs / requests).toFixed(2)} ms (wall ${(result.wallMs / requests).toFixed(2)} ms); other processes used ${share.otherCores} cores meanwhile`);
    }
    // Whether PostgreSQL re-plans the named statements (custom plans) or reuses one (generic), per connection.
    const pool = (bench.db as unknown as { $client: pg.Pool }).$client;
    const held = await Promise.all(Array.from({ length: pool.totalCount }, () => pool.connect()));
    for (const c of held) {
      const res = await c.query<{ name: string; generic_plans: string; custom_plans: string }>("select name, generic_plans, custom_plans from pg_prepared_statements");
      log(`  connection: ${res.rows.map((r) => `${r.name} generic ${r.generic_plans} custom ${r.custom_plans}`).join("; ") || "no prepared statements"}`);
    }
    for (const c of held) c.release();
    log(`load average ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`);
  } finally {
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
