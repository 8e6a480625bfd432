// A stand-in leader for the crash tests (../crash.test.ts): opens the database named by DATABASE_URL (or the
// PGlite directory given as the second argument), commits some intent as a user would, starts carrying it out as the
// leading worker, prints one JSON line saying where it is, and waits to be killed with SIGKILL. Modes:
//   job-after-commit   a submitted job, never dispatched
//   job-mid-dispatch   a job whose attempt was claimed and started, its handle never recorded
//   deploy-mid-bringup a staging deployment whose replicas are being started
import path from "node:path";
import { openDatabase } from "@/db/client";
import { seedDemo } from "@/db/seed/demo";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { deployModelSchema } from "@/lib/schemas/deployments";
import { deployModel } from "../../approvals/deploy";
import type { AttemptHandlers, LaunchSpec } from "../../compute/backend";
import { LocalBackend } from "../../compute/local";
import { deploymentRuntime } from "../../deployments/runtime";
import { env } from "../../env";
import { submitJob } from "../../jobs/service";
import { ctxFor } from "../../testing/actors";
import { artifactStore } from "../../tracking/artifacts";
import { createExperiment } from "../../tracking/experiments";
import { DeploymentReconciler } from "../deployment-reconciler";
import { JobScheduler } from "../job-scheduler";

const [mode, pgliteDir] = process.argv.slice(2);
const url = env().databaseUrl;
const { db } = await openDatabase(url ? { url } : { pgliteDir: pgliteDir ?? path.join(env().dataDir, "pglite") });
// The demo organization with its registry (an ONNX churn-classifier) and its live deployments, in this data dir.
await seedDemo(db, mode === "deploy-mid-bringup" ? { store: artifactStore() } : undefined);
const ctx = await ctxFor(db, "ds@example.com");
const say = (what: Record<string, unknown>) => console.log(JSON.stringify(what));

// Mid-dispatch: an attempt 1 that runs until killed (attempt 2 ends at once); otherwise a job that just succeeds.
const script = mode === "job-mid-dispatch"
  ? "console.log('attempt ' + process.env.CAIRN_JOB_ATTEMPT + ' pid ' + process.pid); if (process.env.CAIRN_JOB_ATTEMPT === '1') setInterval(() => {}, 1000)"
  : "console.log('trained')";
const submit = async () => {
  const { experiment_id } = await createExperiment(ctx, { name: `crash-${mode}-${Date.now()}`, team: "churn" });
  return submitJob(ctx, experiment_id, trainJobSchema.parse({ command: [process.execPath, "-e", script], instance_type: "cpu.small", retries: 1, max_runtime_seconds: 120 }));
};

if (mode === "job-after-commit") {
  const job = await submit();
  say({ jobId: job.job_id, status: job.status });
} else if (mode === "job-mid-dispatch") {
  // The executor starts the attempt's process, and this process dies before the scheduler records its handle.
  class DiesAfterStart extends LocalBackend {
    override async start(spec: LaunchSpec, handlers: AttemptHandlers): Promise<{ ref: string }> {
      const started = await super.start(spec, handlers);
      say({ jobId: spec.jobId, attempt: spec.attempt, ref: started.ref });
      return new Promise<never>(() => undefined);
    }
  }
  const job = await submit();
  void new JobScheduler({ db, backend: new DiesAfterStart(), intervalMs: 60_000 }).tick();
  void job;
} else if (mode === "deploy-mid-bringup") {
  const input = deployModelSchema.parse({ alias: "champion", environment: "staging", replicas: 2, auto_scale: false });
  const made = await deployModel(ctx, "churn-classifier", { ...input, environment: "staging" });
  say({ deploymentId: made.deployment_id });
  // The leader's reconciler starts every live deployment's replicas; the test kills this process meanwhile.
  void new DeploymentReconciler(db, deploymentRuntime(), 60_000).reconcile();
} else {
  throw new Error(`unknown mode ${mode}`);
}
setInterval(() => {}, 1000);
