// Training-job benchmark (PostgreSQL): admission throughput of submissions through the REST route, and
// how fast a status change reaches a client subscribed to GET /api/v1/jobs/events.
//
//   npx tsx bench/jobs.ts [--submissions 1000] [--clients 4] [--slots 10] [--changes 200] [--pg-url …] [--out bench/jobs-results.json]
//
// The team's quota allows `slots` concurrent jobs; every job runs `sleep 600` on the local executor, so
// the first `slots` submissions are admitted and started and the rest queue with their reason — every
// answer carries its admission decision. Then, with a subscriber connected, queued jobs are cancelled
// one at a time and the time from the cancel call to the subscriber reading the event is recorded;
// cancelling running jobs also measures the admitted/running events of the jobs that take their slots.
import { writeFileSync } from "node:fs";
import os from "node:os";
import { eq, inArray } from "drizzle-orm";
import { POST as trainPOST } from "@/app/api/v1/experiments/[id]/train/route";
import { GET as eventsGET } from "@/app/api/v1/jobs/events/route";
import { POST as cancelPOST } from "@/app/api/v1/jobs/[id]/cancel/route";
import { jobs, teamQuotas, teams } from "@/db/schema";
import { createExperiment } from "@/server/tracking/experiments";
import { createBenchDatabase, ctxFor, tokenFor } from "./db";
import { now, summarize } from "./stats";
import { option } from "./args";


const SUBMISSIONS = Number(option("submissions", "1000"));
const CLIENTS = Number(option("clients", "4"));
const SLOTS = Number(option("slots", "10"));
const CHANGES = Number(option("changes", "200"));
const PG_URL = option("pg-url", "postgres://postgres@127.0.0.1:5432/postgres");
const OUT = option("out", "bench/jobs-results.json");

async function call(handler: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>, method: string, path: string, token: string, params: Record<string, string>, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  return handler(new Request(`http://localhost${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }), { params: Promise.resolve(params) });
}

async function main(): Promise<void> {
  const bench = await createBenchDatabase(PG_URL);
  const { db } = bench;
  try {
    const token = await tokenFor(db, "ds@example.com", "churn");
    const lead = await tokenFor(db, "lead@example.com", "churn");
    const ctx = await ctxFor(db, "ds@example.com");
    const [team] = await db.select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    await db.update(teamQuotas).set({ maxConcurrentJobs: SLOTS, cpu: 10_000, memoryGib: 100_000 }).where(eq(teamQuotas.teamId, team!.id));
    const { experiment_id: exp } = await createExperiment(ctx, { name: "bench-jobs", team: "churn" });
    const body = { command: ["sleep", "600"], instance_type: "cpu.small", max_runtime_seconds: 3600 };

    // 1. Submissions: CLIENTS concurrent clients, each waiting for its answer (with the decision) before the next.
    const latencies: number[] = [];
    const decisions = { admitted: 0, queued: 0, other: 0 };
    let next = 0;
    const started = now();
    await Promise.all(Array.from({ length: CLIENTS }, async () => {
      while (next < SUBMISSIONS) {
        next++;
        const t0 = now();
        const res = await call(trainPOST, "POST", `/api/v1/experiments/${exp}/train`, token, { id: exp }, body);
        latencies.push(now() - t0);
        const json = (await res.json()) as { status?: string; queue_reason?: string | null };
        if (res.status !== 202) throw new Error(`submit answered ${res.status}: ${JSON.stringify(json)}`);
        if (json.status === "queued" && json.queue_reason) decisions.queued++;
        else if (json.status === "admitted" || json.status === "running") decisions.admitted++;
        else decisions.other++;
      }
    }));
    const elapsed = (now() - started) / 1000;
    const submitRate = SUBMISSIONS / elapsed;

    // 2. Status changes to a subscriber.
    const abort = new AbortController();
    const res = await eventsGET(new Request("http://localhost/api/v1/jobs/events", { headers: { authorization: `Bearer ${token}` }, signal: abort.signal }), { params: Promise.resolve({}) });
    const reader = res.body!.getReader();
    const waiting = new Map<string, { status: string; t0: number; resolve: (ms: number) => void }[]>();
    const decoder = new TextDecoder();
    void (async () => {
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true as const }));
        if (done) return;
        const t = now();
        buffer += decoder.decode(value);
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^event: job\ndata: (.*)$/m.exec(frame)?.[1];
          if (!data) continue;
          const change = JSON.parse(data) as { job_id: string; status: string };
          const list = waiting.get(change.job_id) ?? [];
          const i = list.findIndex((w) => w.status === change.status);
          if (i < 0) continue;
          const w = list.splice(i, 1)[0]!;
          w.resolve(t - w.t0);
        }
      }
    })();
    const expect = (jobId: string, status: string, t0: number) =>
      new Promise<number>((resolve, reject) => {
        const entry = { status, t0, resolve: (ms: number) => resolve(ms) };
        waiting.set(jobId, [...(waiting.get(jobId) ?? []), entry]);
        setTimeout(() => reject(new Error(`no ${status} event for ${jobId} within 10 s`)), 10_000).unref();
      });
    const queued = (await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.status, "queued")).orderBy(jobs.queuedAt)).map((j) => j.id);
    const cancelLatency: number[] = [];
    for (const id of queued.slice(-CHANGES)) {
      const t0 = now();
      const arrived = expect(id, "cancelled", t0);
      const r = await call(cancelPOST, "POST", `/api/v1/jobs/${id}/cancel`, lead, { id });
      if (r.status !== 200) throw new Error(`cancel answered ${r.status}`);
      cancelLatency.push(await arrived);
    }
    // Freeing a slot: the next queued job is admitted and started by the scheduler.
    const admitLatency: number[] = [];
    const running = (await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.status, "running"))).map((j) => j.id);
    for (const id of running) {
      const [successor] = await db.select({ id: jobs.id }).from(jobs).where(eq(jobs.status, "queued")).orderBy(jobs.queuedAt).limit(1);
      if (!successor) break;
      const t0 = now();
      const admitted = expect(successor.id, "running", t0);
      await call(cancelPOST, "POST", `/api/v1/jobs/${id}/cancel`, lead, { id });
      admitLatency.push(await admitted);
    }
    abort.abort();
    // Leave nothing running.
    const leftovers = (await db.select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]))).map((j) => j.id);
    for (const id of leftovers) await call(cancelPOST, "POST", `/api/v1/jobs/${id}/cancel`, lead, { id });
    await new Promise((r) => setTimeout(r, 2000));

    const submit = summarize(latencies);
    const cancel = summarize(cancelLatency);
    const admit = summarize(admitLatency);
    const rows = [
      ["Submissions through POST /api/v1/experiments/{id}/train", `${SUBMISSIONS} by ${CLIENTS} clients in ${elapsed.toFixed(1)} s: ${submitRate.toFixed(0)} decisions/s (${decisions.admitted} admitted, ${decisions.queued} queued with a reason, ${decisions.other} other); answer p50 ${submit.p50} ms / p99 ${submit.p99} ms`, "≥ 50/s sustained", submitRate >= 50 ? "PASS" : "MISS"],
      ["Status change → subscriber (cancel of a queued job)", `${cancel.n} changes: p50 ${cancel.p50} ms / p99 ${cancel.p99} ms / max ${cancel.max} ms`, "p99 ≤ 1 s", cancel.p99 <= 1000 ? "PASS" : "MISS"],
      ["Slot freed → successor's `running` reaches subscriber", `${admit.n} changes: p50 ${admit.p50} ms / p99 ${admit.p99} ms / max ${admit.max} ms`, "p99 ≤ 1 s", admit.p99 <= 1000 ? "PASS" : "MISS"],
    ];
    console.log(`\n| Scenario | Measured | Target | Result |\n| --- | --- | --- | --- |\n${rows.map((r) => `| ${r.join(" | ")} |`).join("\n")}\n`);
    writeFileSync(OUT, `${JSON.stringify({ date: new Date().toISOString(), machine: { cpus: os.cpus().length, load: os.loadavg() }, options: { SUBMISSIONS, CLIENTS, SLOTS, CHANGES }, submitRate, decisions, submit, cancel, admit }, null, 2)}\n`);
  } finally {
    await bench.close(false);
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  console.error(err);
  process.exit(1);
});
