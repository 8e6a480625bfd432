// Kill -9 between commit and dispatch loses nothing and duplicates nothing (issue 13): a real second process
// (./testing/dying-leader.ts) commits intent and starts carrying it out as the leader, and is killed with
// SIGKILL at a chosen point; this process then leads, on the same database, and the work is done exactly once.
// What is counted: jobs, runs and attempts in the database; the job's processes and the model replicas on
// this host.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq, inArray } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { openDatabase } from "@/db/client";
import { createTestDatabase } from "@/db/test-db";
import { LIVE_DEPLOYMENT_STATUSES, deployments, jobEvents, jobs, runs } from "@/db/schema";
import { LocalBackend } from "../compute/local";
import { deploymentRuntime, stopAllReplicas } from "../deployments/runtime";
import { env } from "../env";
import { alive } from "../jobs/testing/processes";
import { DeploymentReconciler } from "./deployment-reconciler";
import { JobScheduler } from "./job-scheduler";

/** Host pids of live processes whose environment holds every one of `vars`. */
function processesWith(vars: string[]): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const environ = readFileSync(`/proc/${name}/environ`, "latin1").split("\0");
      if (vars.every((v) => environ.includes(v)) && alive(Number(name))) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Model replica processes serving this deployment's copy of its model. */
function replicasOf(deploymentId: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8");
      if (cmd.includes("model-server") && cmd.includes(`${deploymentId}${path.sep}model.onnx`) && alive(Number(name))) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("a leader killed between commit and dispatch", () => {
  const scratch = mkdtempSync(path.join(os.tmpdir(), "cairn-dying-leader-"));
  const opened: Database[] = [];
  const pgDatabases: Awaited<ReturnType<typeof createTestDatabase>>[] = [];
  afterAll(async () => {
    await stopAllReplicas();
    for (const d of opened) await d.close();
    for (const d of pgDatabases) await d.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  /**
   * Runs the stand-in leader in `mode` until it prints its line (and `until` holds), kills it with SIGKILL, and
   * opens the same database here, as the next leader.
   */
  async function killedLeader(mode: string, until: (said: Record<string, string>) => boolean | Promise<boolean> = () => true): Promise<{ said: Record<string, string>; db: Database["db"] }> {
    let url: string | undefined;
    let shared: Database["db"] | undefined;
    const pgliteDir = path.join(scratch, mode, "pglite");
    if (process.env.CAIRN_TEST_DB === "postgres") {
      const pg = await createTestDatabase();
      pgDatabases.push(pg);
      url = pg.url;
      shared = pg.db;
    }
    // One process (tsx as a loader, not its CLI, which would run the script in a child that SIGKILL misses).
    // The same data dir as this process, so the next leader finds the deployment's pinned files and copies.
    const child = spawn(process.execPath, ["--import", "tsx", "server/workers/testing/dying-leader.ts", mode, pgliteDir], {
      env: { PATH: process.env.PATH ?? "", NEXTAUTH_SECRET: "crash-test-secret-0123456789", CAIRN_DATA_DIR: env().dataDir, ...(url ? { DATABASE_URL: url } : {}) } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const said = await new Promise<Record<string, string>>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const line = out.split("\n").find((x) => x.startsWith("{"));
        if (line) resolve(JSON.parse(line) as Record<string, string>);
      });
      child.once("exit", (code: number | null) => reject(new Error(`the stand-in leader exited early (${code}): ${out}`)));
    });
    const deadline = Date.now() + 60_000;
    while (!(await until(said))) {
      if (Date.now() > deadline) throw new Error(`the stand-in leader never reached the point to be killed at (${mode})`);
      await sleep(20);
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    if (shared) return { said, db: shared };
    const database = await openDatabase({ pgliteDir });
    opened.push(database);
    return { said, db: database.db };
  }

  async function untilFinal(db: Database["db"], scheduler: JobScheduler, jobId: string) {
    for (let i = 0; i < 300; i++) {
      await scheduler.tick();
      const [row] = await db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, jobId));
      if (["succeeded", "failed", "cancelled"].includes(row!.status)) return;
      await sleep(100);
    }
    throw new Error(`job ${jobId} did not finish`);
  }

  it("after the submit committed: the next leader dispatches the job once", { timeout: 120_000 }, async () => {
    const { said, db } = await killedLeader("job-after-commit");
    expect(said.status).toBe("queued");
    const scheduler = new JobScheduler({ db, backend: new LocalBackend(), intervalMs: 60_000 });
    expect(await scheduler.converge()).toBe(0);
    await untilFinal(db, scheduler, said.jobId!);
    const all = await db.select().from(jobs);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ id: said.jobId, status: "succeeded", attempt: 1 });
    const events = await db.select({ status: jobEvents.status }).from(jobEvents).where(eq(jobEvents.jobId, said.jobId!)).orderBy(jobEvents.id);
    expect(events.filter((e) => e.status === "running")).toHaveLength(1);
    expect(await db.select({ id: runs.id }).from(runs).where(eq(runs.id, all[0]!.runId))).toHaveLength(1);
  });

  it("mid-dispatch, the attempt started but its handle never recorded: the next leader finds and stops it, then retries once", { timeout: 120_000 }, async () => {
    const { said, db } = await killedLeader("job-mid-dispatch", (s) => processesWith([`CAIRN_JOB_ID=${s.jobId}`, "CAIRN_JOB_ATTEMPT=1"]).length > 0);
    const [before] = await db.select().from(jobs).where(eq(jobs.id, said.jobId!));
    expect(before).toMatchObject({ status: "running", attempt: 1, backendRef: null });
    const survivors = processesWith([`CAIRN_JOB_ID=${said.jobId}`, "CAIRN_JOB_ATTEMPT=1"]);
    expect(survivors.length).toBeGreaterThan(0); // the attempt outlived the leader that started it
    const scheduler = new JobScheduler({ db, backend: new LocalBackend(), intervalMs: 60_000 });
    expect(await scheduler.converge()).toBe(1);
    // Stopped before anything is retried: never two attempts at once.
    expect(processesWith([`CAIRN_JOB_ID=${said.jobId}`, "CAIRN_JOB_ATTEMPT=1"])).toEqual([]);
    await untilFinal(db, scheduler, said.jobId!);
    const all = await db.select().from(jobs);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ status: "succeeded", attempt: 2 });
    const events = await db.select({ status: jobEvents.status, attempt: jobEvents.attempt, message: jobEvents.message }).from(jobEvents).where(eq(jobEvents.jobId, said.jobId!)).orderBy(jobEvents.id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "queued", "admitted", "running", "succeeded"]);
    expect(events[3]!.message).toContain("Cairn stopped while starting attempt 1");
    expect(processesWith([`CAIRN_JOB_ID=${said.jobId}`])).toEqual([]);
  });

  it("mid bring-up of a deployment: its replicas die with the leader, the next leader brings each live deployment up once", { timeout: 120_000 }, async () => {
    const { said, db } = await killedLeader("deploy-mid-bringup", (s) => replicasOf(s.deploymentId!).length > 0);
    await sleep(300); // the replicas' lifeline (stdin) closes with the killed leader
    expect(replicasOf(said.deploymentId!)).toEqual([]);
    const live = await db.select({ id: deployments.id, replicas: deployments.replicas }).from(deployments).where(inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]));
    const all = await db.select({ id: deployments.id }).from(deployments);
    // The demo's and the one deployed before the kill: nothing lost, nothing doubled.
    expect(live.map((d) => d.id)).toContain(said.deploymentId);
    const reconciler = new DeploymentReconciler(db, deploymentRuntime(), 60_000);
    expect(await reconciler.reconcile()).toBe(live.length);
    for (const d of live) {
      expect(replicasOf(d.id), d.id).toHaveLength(d.replicas);
      expect(deploymentRuntime().readyReplicas(d.id)).toBe(d.replicas);
    }
    const [mine] = await db.select({ status: deployments.status }).from(deployments).where(eq(deployments.id, said.deploymentId!));
    expect(mine!.status).toBe("ready");
    // Another pass changes nothing.
    expect(await reconciler.reconcile()).toBe(0);
    for (const d of live) expect(replicasOf(d.id)).toHaveLength(d.replicas);
    expect(await db.select({ id: deployments.id }).from(deployments)).toHaveLength(all.length);
  });
});
