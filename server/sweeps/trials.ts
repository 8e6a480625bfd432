// A trial as the sweep page shows it: its stored state read together with its job's (waiting, and why; running).
import type { JobStatus, sweepTrials } from "@/db/schema";
import type { SweepTrialDto } from "@/lib/schemas/sweeps";

export type TrialJob = { status: JobStatus; queueReason: string | null; attempt: number; message: string | null } | null;

export function trialView(t: typeof sweepTrials.$inferSelect, job: TrialJob): SweepTrialDto {
  let state: SweepTrialDto["state"];
  if (t.state === "active" || t.state === "pruning") {
    if (!job) state = "failed";
    else if (job.status === "queued") state = "waiting";
    else if (job.status === "admitted" || job.status === "running") state = "running";
    // Ended, and the driver has not recorded it yet.
    else state = t.state === "pruning" ? "pruned" : job.status;
  } else {
    state = t.state;
  }
  return {
    number: t.number, state, params: t.params, objective: state === "succeeded" || state === "pruned" ? t.objective : null,
    job_id: t.jobId, run_id: t.runId, queue_reason: state === "waiting" ? (job?.queueReason ?? "waiting for the scheduler") : null,
    message: t.message ?? (state === "failed" || state === "cancelled" ? (job?.message ?? null) : null), attempt: job?.attempt ?? 0,
  };
}
