// Test helpers for jobs: drive the scheduler until a job reaches a state.
import { readFileSync } from "node:fs";
import type { Db } from "@/db/client";
import { ctxFor } from "../../testing/actors";
import { tick } from "../../workers/testing";
import type { JobDto } from "../service";
import { getJob, jobLogFile } from "../service";

export const isFinal = (j: JobDto) => ["succeeded", "failed", "cancelled"].includes(j.status);

/** Ticks the scheduler and re-reads the job (as a team lead of churn) until `done`, or throws after `ms`. */
export async function waitForJob(db: Db, id: string, done: (j: JobDto) => boolean, opts: { ms?: number; every?: number; as?: string } = {}): Promise<JobDto> {
  const ctx = await ctxFor(db, opts.as ?? "lead@example.com");
  const deadline = Date.now() + (opts.ms ?? 20_000);
  for (;;) {
    await tick(db);
    const job = await getJob(ctx, id);
    if (done(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} stuck in ${job.status} (${job.queue_reason ?? job.message ?? ""})`);
    await new Promise((r) => setTimeout(r, opts.every ?? 100));
  }
}

/** Waits until the job's log holds `line` as a whole line (the command echoed at the top of the log holds its text too). */
export async function waitForLogLine(id: string, line: string, ms = 30_000): Promise<void> {
  const read = () => {
    try {
      return readFileSync(jobLogFile(id), "utf8");
    } catch {
      return "";
    }
  };
  const deadline = Date.now() + ms;
  while (!read().split("\n").includes(line)) {
    if (Date.now() > deadline) throw new Error(`job ${id} never printed "${line}": ${read()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
