// runs/create through the MLflow adapter in this process, at 1 and N clients: a quick way to profile the
// create path (node --cpu-prof) without the side-by-side bench's servers.
//
//   npx tsx bench/mlflow/create-profile.ts [--requests 400] [--clients 8]
import os from "node:os";
import { createBenchDatabase, tokenFor } from "../db";
import { mlflowCall } from "../http";
import { option } from "../args";

const REQUESTS = Number(option("requests", "400"));
const CLIENTS = Number(option("clients", "8"));

async function main(): Promise<void> {
  const bench = await createBenchDatabase(option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres"));
  try {
    const token = await tokenFor(bench.db, "ds@example.com", "churn");
    const { experiment_id } = (await mlflowCall(token, "POST", "experiments/create", { name: `create-${Date.now()}` })) as { experiment_id: string };
    const create = () => mlflowCall(token, "POST", "runs/create", { experiment_id, run_name: "r", start_time: Date.now(), tags: [{ key: "source", value: "bench" }] });
    for (let i = 0; i < 50; i++) await create();
    for (const clients of [1, CLIENTS]) {
      const t0 = performance.now();
      const cpu0 = process.cpuUsage();
      await Promise.all(Array.from({ length: clients }, async () => { for (let i = 0; i < REQUESTS / clients; i++) await create(); }));
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      console.log(`${clients} client(s): ${(REQUESTS / (ms / 1000)).toFixed(0)} runs/s, node CPU ${((cpu.user + cpu.system) / 1000 / REQUESTS).toFixed(2)} ms/run, load ${os.loadavg()[0]!.toFixed(2)}`);
    }
  } finally {
    await bench.close(false);
  }
}

main().then(() => process.exit(0), (err: unknown) => { console.error(err); process.exit(1); });
