// Kill the server mid-job, start again: the job converges. A real second process plays the server that
// dies (SIGKILL, so nothing is cleaned up); the job's own process survives it, and this process — the
// restarted server — must stop that survivor before retrying, so the attempt never runs twice at once.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, describe, expect, it } from "vitest";
import type { Database } from "@/db/client";
import { openDatabase } from "@/db/client";
import { createTestDatabase } from "@/db/test-db";
import { jobEvents, jobs, runs } from "@/db/schema";
import { LocalBackend } from "../compute/local";
import { converge, tick, useBackend } from "../workers/testing";
import { alive, processesOf } from "./testing/processes";


describe("a server killed mid-job", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-crash-"));
  let database: Database | undefined;
  let pgTest: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  afterAll(async () => {
    await database?.close();
    await pgTest?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("converges after a restart: the survivor is stopped, the attempt retried once", { timeout: 120_000 }, async () => {
    let url: string | undefined;
    if (process.env.CAIRN_TEST_DB === "postgres") {
      pgTest = await createTestDatabase();
      const base = new URL(process.env.CAIRN_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres");
      base.pathname = `/${pgTest.name}`;
      url = base.toString();
    }
    // One process (tsx as a loader, not its CLI, which would run the script in a child that SIGKILL misses).
    const child = spawn(process.execPath, ["--import", "tsx", "server/jobs/testing/crash-child.ts"], {
      env: { PATH: process.env.PATH ?? "", CAIRN_DATA_DIR: dir, NEXTAUTH_SECRET: "crash-test-secret-0123456789", ...(url ? { DATABASE_URL: url } : {}) } as unknown as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "inherit"],
    });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (b: Buffer) => {
        out += b.toString();
        const l = out.split("\n").find((x) => x.startsWith("{"));
        if (l) resolve(l);
      });
      child.once("exit", (code: number | null) => reject(new Error(`the stand-in server exited early (${code}): ${out}`)));
    });
    const { jobId, pid, uid } = JSON.parse(line) as { jobId: string; pid: number; uid: number | null };
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    expect(alive(pid)).toBe(true); // the job's process outlived its server

    // The restarted server: same database, a fresh executor that never saw the attempt.
    database = url ? await openDatabase({ url }) : await openDatabase({ pgliteDir: path.join(dir, "pglite") });
    const db = database.db;
    useBackend(db, new LocalBackend());
    expect(await converge(db)).toBe(1);
    expect(alive(pid)).toBe(false);
    if (uid !== null) expect(processesOf(uid)).toEqual([]); // nothing of the sandboxed job is left either
    for (let i = 0; i < 200; i++) {
      await tick(db);
      const [row] = await db.select({ status: jobs.status }).from(jobs).where(eq(jobs.id, jobId));
      if (row!.status === "succeeded" || row!.status === "failed") break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const [job] = await db.select().from(jobs).where(eq(jobs.id, jobId));
    expect(job).toMatchObject({ status: "succeeded", attempt: 2 });
    const events = await db.select({ status: jobEvents.status, message: jobEvents.message }).from(jobEvents).where(eq(jobEvents.jobId, jobId)).orderBy(jobEvents.id);
    expect(events.map((e) => e.status)).toEqual(["queued", "admitted", "running", "queued", "admitted", "running", "succeeded"]);
    expect(events[3]!.message).toContain("Cairn restarted while attempt 1 was running");
    const [run] = await db.select({ status: runs.status }).from(runs).where(eq(runs.id, job!.runId));
    expect(run!.status).toBe("FINISHED");
  });
});
