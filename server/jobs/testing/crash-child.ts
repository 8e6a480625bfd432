// A stand-in Cairn server process for the crash test: opens the database named by DATABASE_URL (or the
// PGlite directory under CAIRN_DATA_DIR), submits a job whose first attempt never ends, prints
// {"jobId", "pid", "uid"} (the attempt's host pid, and its sandbox uid or null) once that attempt runs, and then waits to be killed with SIGKILL.
import { readFileSync } from "node:fs";
import path from "node:path";
import { eq } from "drizzle-orm";
import { openDatabase } from "@/db/client";
import { jobs } from "@/db/schema";
import { seedDemo } from "@/db/seed/demo";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { env } from "../../env";
import { ctxFor } from "../../testing/actors";
import { createExperiment } from "../../tracking/experiments";
import { getJob, jobLogFile, submitJob } from "../service";
import { tick } from "../../workers/testing";
import { handlePid, sandboxUid } from "./processes";

const url = env().databaseUrl;
const { db } = await openDatabase(url ? { url } : { pgliteDir: path.join(env().dataDir, "pglite") });
await seedDemo(db);
const ctx = await ctxFor(db, "ds@example.com");
const { experiment_id } = await createExperiment(ctx, { name: "crash-test", team: "churn" });
const script = "console.log('attempt ' + process.env.CAIRN_JOB_ATTEMPT + ' pid ' + process.pid); if (process.env.CAIRN_JOB_ATTEMPT === '1') setInterval(() => {}, 1000)";
const job = await submitJob(ctx, experiment_id, trainJobSchema.parse({ command: [process.execPath, "-e", script], instance_type: "cpu.small", retries: 1, max_runtime_seconds: 120 }));
for (;;) {
  await tick(db);
  const current = await getJob(ctx, job.job_id);
  const pid = /attempt 1 pid (\d+)/.exec((() => { try { return readFileSync(jobLogFile(job.job_id), "utf8"); } catch { return ""; } })())?.[1];
  const [row] = await db.select({ ref: jobs.backendRef }).from(jobs).where(eq(jobs.id, job.job_id));
  if (current.status === "running" && pid && row?.ref) {
    console.log(JSON.stringify({ jobId: job.job_id, pid: handlePid(row.ref), uid: sandboxUid(readFileSync(jobLogFile(job.job_id), "utf8")) }));
    break;
  }
  await new Promise((r) => setTimeout(r, 100));
}
setInterval(() => {}, 1000);
