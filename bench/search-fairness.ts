// Search fairness over HTTP (issue 12, "one search stalls everyone"): another team's search latency while one
// team fires its heaviest allowed searches, measured against a real `next start` on PostgreSQL with the clients
// in this separate process (as over a network), not in the server's own event loop as the unit test must.
//
//   npx tsx bench/search-fairness.ts [--clients 8] [--samples 300] [--runs 2000] [--port 3390] [--pg-url …] [--out bench/search-fairness-results.json] [--cpu-prof DIR]
//                                    [--server next|node] [--flood-share 0.25] [--rounds 1] [--flood searches|refused|burn]
//
// --server node serves the same MLflow adapter from node:http (bench/mlflow/cairn-server.ts) when no build is at
// hand; next (default) is `next start` on the build, what users run. --flood-share sets CAIRN_QUERY_FLOOD_SHARE
// for the server (1 turns the pacing of a flooding team off, for a before/after in one sitting).
//
// --flood refused fires only the 200-condition searches (each refused, over the filter cap), back to back: issue 12's
// "a 200-condition search answers in ≤ 1 s or is refused, and another team's p99 is unchanged meanwhile".
//
// --flood burn replaces the heavy team's searches with one PostgreSQL statement that keeps a core busy for ~37 ms at
// a time, resting as long again (a duty cycle of a half, twice what a paced flood gets at the default share),
// straight to the database: what a database core held by another statement costs the other team, apart from the
// requests and answers of a flood.
//
// --rounds N alternates N windows alone with N windows during the flood (samples split between them), so on a
// shared machine both figures see the same outside load rather than whatever ran in the first or the second half.
//
// --cpu-prof DIR writes the server's V8 CPU profile there (open it in Chrome DevTools) to see what its event loop spends the run on.
//
// Needs a build (`npx next build`). Creates its own database and data dir and removes them.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { sql } from "drizzle-orm";
import pg from "pg";
import { openDatabase } from "@/db/client";
import { experiments } from "@/db/schema";
import { eq } from "drizzle-orm";
import { tokenFor } from "@/server/testing/actors";
import { option } from "./args";

const CLIENTS = Number(option("clients", "8"));
const SAMPLES = Number(option("samples", "300"));
const RUNS = Number(option("runs", "2000"));
const PORT = Number(option("port", "3390"));
const PG_URL = option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres");
const OUT = option("out", "bench/search-fairness-results.json");
const CPU_PROF = option("cpu-prof", "");
const SERVER = option("server", "next");
const FLOOD_SHARE = option("flood-share", "");
const ROUNDS = Number(option("rounds", "1"));
const FLOOD = option("flood", "searches");
if (!["next", "node"].includes(SERVER)) throw new Error(`--server is next or node, not ${SERVER}`);
if (!["searches", "refused", "burn"].includes(FLOOD)) throw new Error(`--flood is searches, refused or burn, not ${FLOOD}`);
const BASE = `http://127.0.0.1:${PORT}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(s.length * p) - 1)]!;
};
const round = (x: number) => Math.round(x * 10) / 10;

/** `n` comparisons over params, metrics and tags that every loaded run satisfies (as search-load.test.ts). */
function conditions(n: number): string {
  return Array.from({ length: n }, (_, i) => [`params.p${i % 20} != 'none${i}'`, `metrics.m${i % 20} >= 0`, `tags.t${i % 10} LIKE 'x%'`][i % 3]).join(" and ");
}

async function main(): Promise<void> {
  const name = `cairn_bench_fair_${Date.now()}_${randomBytes(3).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_URL);
  url.pathname = `/${name}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-bench-fair-"));
  let child: ChildProcess | undefined;
  try {
    const entry = SERVER === "next" ? ["node_modules/next/dist/bin/next", "start", "-p", String(PORT)] : ["--import", "tsx", "bench/mlflow/cairn-server.ts", "--port", String(PORT)];
    child = spawn(process.execPath, [...(CPU_PROF ? ["--cpu-prof", "--cpu-prof-dir", CPU_PROF] : []), ...entry], {
      env: {
        ...process.env, DATABASE_URL: url.toString(), CAIRN_DATA_DIR: dataDir, AUTH_TRUST_HOST: "true", NEXTAUTH_SECRET: "bench-search-fairness-0123456789", CAIRN_PROMETHEUS: "off", PORT: String(PORT),
        ...(SERVER === "node" ? { NODE_ENV: "production" } : {}), ...(FLOOD_SHARE ? { CAIRN_QUERY_FLOOD_SHARE: FLOOD_SHARE } : {}),
      },
      stdio: ["ignore", "pipe", "pipe"], detached: true,
    });
    for (let i = 0; ; i++) {
      const ok = await fetch(`${BASE}${SERVER === "next" ? "/api/health" : "/health"}`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 600) throw new Error("the server did not become healthy");
      await sleep(200);
    }
    const { db, close } = await openDatabase({ url: url.toString() });
    const churn = await tokenFor(db, "ds@example.com", "churn");
    const fraud = await tokenFor(db, "ds.fraud@example.com", "fraud");
    const api = (token: string, p: string, body: unknown) =>
      fetch(`${BASE}/api/2.0/mlflow/${p}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const experiment = async (token: string) => (await (await api(token, "experiments/create", { name: `fair-${Date.now()}-${Math.random()}` })).json() as { experiment_id: string }).experiment_id;
    const churnExp = await experiment(churn);
    const fraudExp = await experiment(fraud);
    for (const [exp, n, seed] of [[churnExp, RUNS, "churn"], [fraudExp, 200, "fraud"]] as const) {
      const [row] = await db.select({ teamId: experiments.teamId }).from(experiments).where(eq(experiments.id, Number(exp)));
      const id = sql`md5(${seed} || i)`;
      await db.execute(sql`insert into runs (id, experiment_id, team_id, name, status, start_time, end_time, user_id, lifecycle_stage, artifact_uri)
        select ${id}, ${Number(exp)}, ${row!.teamId}, 'load-' || i, 'FINISHED', 1700000000000 + i, 1700000000000 + i + 1, 'loader', 'active', 'mlflow-artifacts:/x/' || i from generate_series(1, ${n}) i`);
      const of = sql`(select id from runs where experiment_id = ${Number(exp)}) r`;
      await db.execute(sql`insert into params (run_id, key, value) select r.id, 'p' || j, 'v' || (abs(hashtext(r.id || j)) % 20) from ${of} cross join generate_series(0, 19) j`);
      await db.execute(sql`insert into latest_metrics (run_id, key, value, step, timestamp) select r.id, 'm' || j, (abs(hashtext(r.id || j)) % 1000) / 1000.0, 0, 0 from ${of} cross join generate_series(0, 19) j`);
      await db.execute(sql`insert into run_tags (run_id, key, value) select r.id, 't' || j, 'x' || (abs(hashtext(r.id || j)) % 10) from ${of} cross join generate_series(0, 9) j`);
    }
    await db.execute(sql`analyze runs, params, latest_metrics, run_tags`);
    await close();

    /** The other team's search: its latency here, and the server's own share of it (--server node answers Server-Timing). */
    const small = async () => {
      const t0 = performance.now();
      const res = await api(fraud, "runs/search", { experiment_ids: [fraudExp], filter: "params.p1 = 'v1' and metrics.m2 > 0.5", order_by: ["metrics.m0 DESC"], max_results: 50 });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`the other team's search answered ${res.status}`);
      const server = /app;dur=([\d.]+)/.exec(res.headers.get("server-timing") ?? "")?.[1];
      return { ms: performance.now() - t0, serverMs: server === undefined ? null : Number(server) };
    };
    const sample = async (n: number, serverMs: number[]) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const one = await small();
        ms.push(one.ms);
        if (one.serverMs !== null) serverMs.push(one.serverMs);
      }
      return ms;
    };
    await sample(30, []);

    const statuses: Record<string, number> = {};
    const heavyMs: number[] = [];
    const orders = [["metrics.m0 DESC"], ["params.p3 ASC"], []];
    /** The heavy team's clients firing back to back until the returned stop resolves. */
    const flood = () => {
      let stop = false;
      if (FLOOD === "burn") {
        const burner = (async () => {
          const c = new pg.Client({ connectionString: url.toString() });
          await c.connect();
          try {
            while (!stop) {
              const t0 = performance.now();
              await c.query("select count(*) from generate_series(1, 200000)");
              const held = performance.now() - t0;
              heavyMs.push(held);
              await sleep(held);
            }
          } finally {
            await c.end();
          }
        })();
        return async () => {
          stop = true;
          await burner;
        };
      }
      const heavy = Array.from({ length: CLIENTS }, async (_, client) => {
        for (let i = 0; !stop; i++) {
          const filter = FLOOD === "refused" || (client + i) % 4 === 3 ? conditions(200) : conditions(50);
          const t0 = performance.now();
          const res = await api(churn, "runs/search", { experiment_ids: [churnExp], filter, order_by: orders[(client + i) % 3], max_results: 100 });
          await res.arrayBuffer();
          if (res.status === 200 || FLOOD === "refused") heavyMs.push(performance.now() - t0);
          statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        }
      });
      return async () => {
        stop = true;
        await Promise.all(heavy);
      };
    };
    const alone: number[] = [];
    const during: number[] = [];
    const aloneServer: number[] = [];
    const duringServer: number[] = [];
    const perRound = Math.ceil(SAMPLES / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      // After a flood, the server's memory of the heavy team's busy time decays over about a second.
      if (round > 0) await sleep(1500);
      alone.push(...(await sample(perRound, aloneServer)));
      const stop = flood();
      await sleep(1000);
      during.push(...(await sample(perRound, duringServer)));
      await stop();
    }

    const result = {
      at: new Date().toISOString(), server: SERVER, flood: FLOOD, flood_share: FLOOD_SHARE || "default", machine: { cpus: os.availableParallelism(), load: os.loadavg().map(round) }, clients: CLIENTS, samples: alone.length, rounds: ROUNDS, churn_runs: RUNS,
      other_team_alone_ms: { p50: round(pct(alone, 0.5)), p95: round(pct(alone, 0.95)), p99: round(pct(alone, 0.99)) },
      other_team_during_ms: { p50: round(pct(during, 0.5)), p95: round(pct(during, 0.95)), p99: round(pct(during, 0.99)) },
      ...(aloneServer.length > 0 ? {
        other_team_server_alone_ms: { p50: round(pct(aloneServer, 0.5)), p99: round(pct(aloneServer, 0.99)) },
        other_team_server_during_ms: { p50: round(pct(duringServer, 0.5)), p99: round(pct(duringServer, 0.99)) },
      } : {}),
      heavy_team: { statuses, answered_p50_ms: heavyMs.length ? round(pct(heavyMs, 0.5)) : null },
    };
    console.log(JSON.stringify(result, null, 2));
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (child?.pid) {
      try { process.kill(-child.pid, "SIGTERM"); } catch { /* gone */ }
      await sleep(1000);
    }
    rmSync(dataDir, { recursive: true, force: true });
    const dropper = new pg.Client({ connectionString: PG_URL });
    await dropper.connect();
    await dropper.query(`drop database if exists ${name} with (force)`);
    await dropper.end();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
