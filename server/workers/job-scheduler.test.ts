// The job scheduler against cancels that commit in the middle of its work. A cancel does not take the admission
// lock and a process exits when it will, so on PostgreSQL a user's cancel and a scheduler pass (or an attempt's
// exit) interleave statement by statement. Each test forces one interleaving: it holds the job's row lock in a
// transaction of its own, lets the scheduler (and the cancel) run up to the point where they wait for that row,
// and releases it. PGlite runs one transaction at a time (the whole database is locked for its duration), so
// these interleavings cannot happen there, and the tests run on PostgreSQL only.
import { eq, inArray, sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import type { Db } from "@/db/client";
import { jobs } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { cancelJob, getJob, getJobEvents, previewJob, submitJob } from "../jobs/service";
import type { JobDto } from "../jobs/service";
import { handlePid } from "../jobs/testing/processes";
import { waitForJob } from "../jobs/testing/wait";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { createExperiment } from "../tracking/experiments";
import { tick } from "./testing";

const db = demoDatabase();
const onPostgres = process.env.CAIRN_TEST_DB === "postgres";
const node = (code: string) => [process.execPath, "-e", code];
const SLEEP = "setInterval(() => {}, 1000)";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** Sessions of this database waiting for a row lock, running a statement that starts with `prefix`. */
async function waitingOnLock(prefix: string): Promise<number> {
  const { rows } = (await db().execute(sql`
    select count(*)::int as n from pg_stat_activity
    where datname = current_database() and wait_event_type = 'Lock' and query like ${`${prefix}%`}`)) as unknown as { rows: { n: number }[] };
  return Number(rows[0]?.n ?? 0);
}

async function submit(body: Record<string, unknown>): Promise<JobDto> {
  const ds = await ctxFor(db(), DEMO.ds);
  const { experiment_id: exp } = await createExperiment(ds, { name: `sched-${Date.now()}-${Math.random()}`, team: "churn" });
  return submitJob(ds, exp, trainJobSchema.parse({ instance_type: "cpu.small", max_runtime_seconds: 60, ...body }));
}

/** Runs `during` inside a transaction that holds the job's row lock; the lock is released when it returns. */
async function holdingRow(jobId: string, during: (tx: Db) => Promise<void>): Promise<void> {
  await db().transaction(async (tx) => {
    await tx.select({ id: jobs.id }).from(jobs).where(eq(jobs.id, jobId)).for("update");
    await during(tx as unknown as Db);
  });
}

/** The host pid of the job's running attempt, once its process is up and its handle recorded. */
async function runningPid(jobId: string): Promise<number> {
  let ref: string | null = null;
  await until("the job's process to start", async () => {
    await tick(db());
    const [row] = await db().select({ status: jobs.status, ref: jobs.backendRef }).from(jobs).where(eq(jobs.id, jobId));
    ref = row?.status === "running" ? row.ref : null;
    return ref !== null;
  }, 20_000);
  return handlePid(ref);
}

afterEach(async () => {
  const admin = await ctxFor(db(), DEMO.admin);
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  for (const j of active) {
    await cancelJob(admin, j.id).catch(() => undefined);
    await tick(db());
    await waitForJob(db(), j.id, (x) => ["succeeded", "failed", "cancelled"].includes(x.status), { ms: 20_000, every: 50 });
  }
});

describe.runIf(onPostgres)("cancels racing the scheduler (PostgreSQL)", () => {
  it("a queued job cancelled while an admission pass has it in hand stays cancelled: it never starts and holds no quota", async () => {
    const job = await submit({ command: node(SLEEP) });
    const ds = await ctxFor(db(), DEMO.ds);
    let pass: Promise<void> | undefined;
    await holdingRow(job.job_id, async (tx) => {
      // The pass reads the job as queued, finds it fits, and waits for the row to mark it admitted…
      pass = tick(db());
      await until("admission to wait for the job's row", async () => (await waitingOnLock('update "jobs"')) === 1);
      // …while the user's cancel commits first.
      await cancelJob(await ctxFor(tx, DEMO.ds), job.job_id);
    });
    await pass;
    await tick(db());
    const after = await getJob(ds, job.job_id);
    expect(after).toMatchObject({ status: "cancelled", attempt: 0 });
    expect((await getJobEvents(ds, job.job_id)).map((e) => e.status)).not.toContain("admitted");
    // Its 2 CPU and its job slot are free for the next job.
    const next = await previewJob(ds, String(after.experiment_id), trainJobSchema.parse({ instance_type: "cpu.small", command: ["true"] }));
    expect(next).toMatchObject({ outcome: "runs", used: { cpu: 0, jobs: 0 } });
  });

  it("a cancel that lands while a failed attempt is requeued for its retry still cancels the job (no next attempt)", async () => {
    const job = await submit({ command: node(SLEEP), retries: 2 });
    await tick(db());
    const pid = await runningPid(job.job_id);
    let cancelling: Promise<unknown> | undefined;
    await holdingRow(job.job_id, async () => {
      // The attempt dies on its own (not a cancel): its exit is read, and the retry waits for the row…
      process.kill(-pid, "SIGKILL");
      await until("the exit to wait for the job's row", async () => (await waitingOnLock("select")) === 1);
      // …then the user cancels, still seeing it running.
      cancelling = cancelJob(await ctxFor(db(), DEMO.ds), job.job_id);
      await until("the cancel to wait for the job's row", async () => (await waitingOnLock("")) === 2);
    });
    await cancelling;
    await tick(db());
    await sleep(200);
    await tick(db());
    const after = await getJob(await ctxFor(db(), DEMO.ds), job.job_id);
    expect(after).toMatchObject({ status: "cancelled", attempt: 1 });
  });

  it("an attempt that fails on its own after a cancel was recorded ends cancelled, not retried", async () => {
    const job = await submit({ command: node(SLEEP), retries: 2 });
    await tick(db());
    const pid = await runningPid(job.job_id);
    let cancelling: Promise<unknown> | undefined;
    await holdingRow(job.job_id, async () => {
      // The user's cancel waits for the row first…
      cancelling = cancelJob(await ctxFor(db(), DEMO.ds), job.job_id);
      await until("the cancel to wait for the job's row", async () => (await waitingOnLock("")) === 1);
      // …then the attempt dies on its own; its exit was read before the cancel committed.
      process.kill(-pid, "SIGKILL");
      await until("the exit to wait for the job's row", async () => (await waitingOnLock("")) === 2);
    });
    await cancelling;
    await until("the job to end", async () => {
      await tick(db());
      const [row] = await db().select({ status: jobs.status }).from(jobs).where(eq(jobs.id, job.job_id));
      return row?.status === "cancelled";
    });
    const ds = await ctxFor(db(), DEMO.ds);
    expect(await getJob(ds, job.job_id)).toMatchObject({ status: "cancelled", attempt: 1 });
    expect((await getJobEvents(ds, job.job_id)).filter((e) => e.status === "running")).toHaveLength(1);
  });
});
