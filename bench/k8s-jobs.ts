// Training jobs on Kubernetes (issue 14): submissions through the REST route on a Cairn whose scheduler dispatches to
// the local cluster of `npm run cluster` (real API server, scheduler and controllers; KWOK nodes), PostgreSQL.
// Measures how fast submissions are admitted (admissions per second) and the time from a submission's answer to
// its pod Running on a node (p50/p99), seen through a watch on the team namespace's pods.
//
//   npm run cluster                                  # once: the local cluster
//   npx tsx bench/k8s-jobs.ts [--jobs 200] [--clients 4] [--tick-ms 100] [--pg-url …] [--out bench/k8s-jobs-results.json]
//
// Each job asks for 0.1 CPU and 0.1 GiB, so all of them fit the team's quota (raised for the run) and the
// cluster's KWOK nodes at once. The team gets a namespace of its own, deleted afterwards.
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { CoreV1Api, KubeConfig, Watch } from "@kubernetes/client-node";
import type { V1Pod } from "@kubernetes/client-node";
import { and, eq, inArray } from "drizzle-orm";
import { POST as trainPOST } from "@/app/api/v1/experiments/[id]/train/route";
import { jobEvents, jobs, teamQuotas, teams } from "@/db/schema";
import { KubernetesBackend } from "@/server/compute/kubernetes";
import { LABELS } from "@/server/compute/k8s-manifest";
import { createExperiment } from "@/server/tracking/experiments";
import { TenantSyncer } from "@/server/tenants/sync";
import { JobScheduler } from "@/server/workers/job-scheduler";
import { createBenchDatabase, ctxFor, tokenFor } from "./db";
import { now, summarize } from "./stats";
import { option } from "./args";


const JOBS = Number(option("jobs", "200"));
const CLIENTS = Number(option("clients", "4"));
const TICK_MS = Number(option("tick-ms", "100"));
const PG_URL = option("pg-url", process.env.CAIRN_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
const OUT = option("out", "bench/k8s-jobs-results.json");
const KUBECONFIG = path.join(process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster"), "kubeconfig");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromFile(KUBECONFIG);
  const core = kc.makeApiClient(CoreV1Api);
  const bench = await createBenchDatabase(PG_URL);
  const slug = `bench-${randomBytes(3).toString("hex")}`;
  const namespace = `cairn-${slug}`;
  let stop = false;
  let abortWatch: { abort(): void } | undefined;
  try {
    const { db } = bench;
    await db.update(teams).set({ slug }).where(eq(teams.slug, "churn"));
    const [team] = await db.select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));
    await db.update(teamQuotas).set({ cpu: JOBS, memoryGib: JOBS, maxConcurrentJobs: JOBS * 2, gpus: 0 }).where(eq(teamQuotas.teamId, team!.id));
    // The team's namespace, quota, limits and RBAC, as the tenant sync keeps them.
    const syncer = new TenantSyncer(kc, { serviceAccount: "system:serviceaccount:cairn-system:cairn" });
    await syncer.syncOne(db, slug);
    const token = await tokenFor(db, "ds@example.com", slug);
    const ctx = await ctxFor(db, "ds@example.com");
    const experimentId = (await createExperiment(ctx, { name: "k8s-bench", team: slug })).experiment_id;

    // Pods seen Running, by job id (first time only).
    const running = new Map<string, number>();
    abortWatch = await new Watch(kc).watch(`/api/v1/namespaces/${namespace}/pods`, {}, (_type: string, pod: V1Pod) => {
      const job = pod.metadata?.labels?.[LABELS.job];
      if (job && pod.status?.phase === "Running" && !running.has(job)) running.set(job, now());
    }, () => undefined);

    const scheduler = new JobScheduler({ db, backend: new KubernetesBackend({ kubeConfig: kc, pollMs: 1000, cairnUrl: "http://cairn.invalid:3000" }), intervalMs: TICK_MS });
    const ticking = (async () => {
      while (!stop) {
        await scheduler.tick().catch((err: unknown) => console.error("[bench] scheduler pass failed", err));
        await sleep(TICK_MS);
      }
    })();

    const submitted = new Map<string, number>();
    const answerMs: number[] = [];
    let next = 0;
    const started = now();
    const body = JSON.stringify({ command: ["python", "train.py"], resources: { cpu: 0.1, memory_gib: 0.1 }, max_runtime_seconds: 3600 });
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < JOBS) {
        next += 1;
        const t0 = now();
        const res = await trainPOST(new Request(`http://localhost/api/v1/experiments/${experimentId}/train`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body }), { params: Promise.resolve({ id: experimentId }) });
        const t1 = now();
        if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${await res.text()}`);
        const { job_id } = (await res.json()) as { job_id: string };
        submitted.set(job_id, t1);
        answerMs.push(t1 - t0);
      }
    }));
    const submittedIn = now() - started;
    const deadline = now() + 300_000;
    while (running.size < JOBS && now() < deadline) await sleep(200);
    stop = true;
    await ticking;

    const ids = [...submitted.keys()];
    const admitted = await db.select({ jobId: jobEvents.jobId, at: jobEvents.at }).from(jobEvents).where(and(inArray(jobEvents.jobId, ids), eq(jobEvents.status, "admitted")));
    const admittedAt = admitted.map((a) => a.at.getTime()).sort((a, b) => a - b);
    const firstSubmit = Math.min(...[...submitted.values()].map((t) => performance.timeOrigin + t));
    const toRunning = ids.filter((id) => running.has(id)).map((id) => running.get(id)! - submitted.get(id)!);
    const statuses = await db.select({ status: jobs.status }).from(jobs).where(inArray(jobs.id, ids));
    const result = {
      at: new Date().toISOString(),
      machine: { cpus: os.availableParallelism(), load: os.loadavg().map((l) => Math.round(l * 10) / 10) },
      jobs: JOBS, clients: CLIENTS, tick_ms: TICK_MS,
      submit_answer_ms: summarize(answerMs),
      submitted_in_s: Math.round(submittedIn) / 1000,
      admitted: admittedAt.length,
      admissions_per_second: admittedAt.length > 1 ? Math.round((admittedAt.length / ((admittedAt.at(-1)! - firstSubmit) / 1000)) * 10) / 10 : null,
      pods_running: toRunning.length,
      submit_to_pod_running_ms: summarize(toRunning),
      job_statuses: statuses.reduce<Record<string, number>>((m, s) => ({ ...m, [s.status]: (m[s.status] ?? 0) + 1 }), {}),
    };
    console.log(JSON.stringify(result, null, 2));
    writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  } finally {
    stop = true;
    abortWatch?.abort();
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await bench.close(false);
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
