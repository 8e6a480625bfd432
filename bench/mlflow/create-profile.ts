// runs/create through the MLflow adapter in this process, at 1 and N clients: a quick way to profile the
// create path (node --cpu-prof) without the side-by-side bench's servers. Per phase it prints the rate, the
// latency (p50 / p99), Node's CPU and the PostgreSQL backends' CPU per run, and what the database's backends
// were doing (pg_stat_activity sampled every few milliseconds: running, waiting on a lock, or idle).
//
//   npx tsx bench/mlflow/create-profile.ts [--requests 400] [--clients 8] [--rounds 1]
import os from "node:os";
import { createBenchDatabase, tokenFor } from "../db";
import { mlflowCall } from "../http";
import { option } from "../args";
import { cpuMsOf, postgresPids } from "./servers";

const REQUESTS = Number(option("requests", "400"));
const CLIENTS = Number(option("clients", "8"));
const ROUNDS = Number(option("rounds", "1"));
const SAMPLE_MS = 5;

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

async function main(): Promise<void> {
  const bench = await createBenchDatabase(option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres"));
  try {
    const token = await tokenFor(bench.db, "ds@example.com", "churn");
    const { experiment_id } = (await mlflowCall(token, "POST", "experiments/create", { name: `create-${Date.now()}` })) as { experiment_id: string };
    const create = () => mlflowCall(token, "POST", "runs/create", { experiment_id, run_name: "r", start_time: Date.now(), tags: [{ key: "source", value: "bench" }] });
    for (let i = 0; i < 50; i++) await create();
    const samplerPid = Number((await bench.raw.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid);
    for (let round = 0; round < ROUNDS; round++) {
      for (const clients of [1, CLIENTS]) {
        const waits = new Map<string, number>();
        let sampling = true;
        const sampler = (async () => {
          while (sampling) {
            const { rows } = await bench.raw.query<{ state: string }>(
              `select case when state = 'active' then coalesce(wait_event_type || ':' || wait_event, 'running') when state = 'idle in transaction' then 'idle in transaction' else 'idle' end as state
               from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'`,
            );
            for (const r of rows) waits.set(r.state, (waits.get(r.state) ?? 0) + 1);
            await new Promise((r) => setTimeout(r, SAMPLE_MS));
          }
        })();
        const pids = postgresPids(bench.name).filter((p) => Number(p) !== samplerPid);
        const pg0 = new Map(pids.map((p) => [p, cpuMsOf([p])]));
        const latencies: number[] = [];
        const t0 = performance.now();
        const cpu0 = process.cpuUsage();
        await Promise.all(Array.from({ length: clients }, async () => {
          for (let i = 0; i < REQUESTS / clients; i++) {
            const s = performance.now();
            await create();
            latencies.push(performance.now() - s);
          }
        }));
        const ms = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        let pgMs = 0;
        for (const p of postgresPids(bench.name)) if (Number(p) !== samplerPid) pgMs += cpuMsOf([p]) - (pg0.get(p) ?? 0);
        sampling = false;
        await sampler;
        latencies.sort((a, b) => a - b);
        const total = [...waits.values()].reduce((a, b) => a + b, 0);
        const states = [...waits].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${((100 * v) / total).toFixed(0)}%`).join(", ");
        console.log(
          `${clients} client(s): ${(REQUESTS / (ms / 1000)).toFixed(0)} runs/s, p50 ${pct(latencies, 0.5).toFixed(1)} ms, p99 ${pct(latencies, 0.99).toFixed(1)} ms, ` +
            `node CPU ${((cpu.user + cpu.system) / 1000 / REQUESTS).toFixed(2)} ms/run, PostgreSQL CPU ${(pgMs / REQUESTS).toFixed(2)} ms/run, load ${os.loadavg()[0]!.toFixed(2)}`,
        );
        console.log(`  backends: ${states}`);
      }
    }
  } finally {
    await bench.close(false);
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
