// Job status changes, published in-process after each commit so subscribed clients (the job page, the
// API's event stream) hear about them at once instead of polling. The scheduler runs in the same
// process as the routes (instrumentation.ts), so an in-process bus sees every change.
import { EventEmitter } from "node:events";
import type { JobStatus } from "@/db/schema";

export type JobChange = { job_id: string; team_id: string; status: JobStatus; attempt: number; at: number; message?: string | null };

const globals = globalThis as unknown as { __cairnJobBus?: EventEmitter };

function bus(): EventEmitter {
  if (!globals.__cairnJobBus) {
    globals.__cairnJobBus = new EventEmitter();
    globals.__cairnJobBus.setMaxListeners(0);
  }
  return globals.__cairnJobBus;
}

export function publishJobChange(change: Omit<JobChange, "at">): void {
  bus().emit("change", { ...change, at: Date.now() } satisfies JobChange);
}

export function subscribeJobChanges(listener: (change: JobChange) => void): () => void {
  bus().on("change", listener);
  return () => bus().off("change", listener);
}
