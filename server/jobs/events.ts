// Job status changes, published after each commit so subscribed clients (the job page, the API's event
// stream) hear about them at once instead of polling. Every process has one bus: a change published here is
// emitted to this process's subscribers and, when several Cairn processes share a PostgreSQL database, also
// forwarded to the others (change-bridge.ts), whose buses deliver it to their own subscribers. The leader
// dispatches and finishes jobs, so without the bridge a browser connected to another process would never
// hear them.
import { EventEmitter } from "node:events";
import type { JobStatus } from "@/db/schema";

export type JobChange = { job_id: string; team_id: string; status: JobStatus; attempt: number; at: number; message?: string | null };

export class JobChangeBus {
  private readonly emitter = new EventEmitter();
  private readonly forwards = new Set<(change: JobChange) => void>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** A change committed in this process: to this process's subscribers, and on to the other processes. */
  publish(change: JobChange): void {
    this.emitter.emit("change", change);
    for (const forward of this.forwards) forward(change);
  }

  /** A change another process published: to this process's subscribers only (it is not forwarded again). */
  deliver(change: JobChange): void {
    this.emitter.emit("change", change);
  }

  subscribe(listener: (change: JobChange) => void): () => void {
    this.emitter.on("change", listener);
    return () => this.emitter.off("change", listener);
  }

  /** Sends every change published from now on to `forward` as well (the bridge to other processes). */
  forward(forward: (change: JobChange) => void): () => void {
    this.forwards.add(forward);
    return () => this.forwards.delete(forward);
  }
}

// Next bundles server modules once per route, so the process's one bus sits on a process-wide slot.
const globals = globalThis as unknown as { __cairnJobBus?: JobChangeBus };

export function jobChangeBus(): JobChangeBus {
  globals.__cairnJobBus ??= new JobChangeBus();
  return globals.__cairnJobBus;
}

export function publishJobChange(change: Omit<JobChange, "at">): void {
  jobChangeBus().publish({ ...change, at: Date.now() });
}

export function subscribeJobChanges(listener: (change: JobChange) => void): () => void {
  return jobChangeBus().subscribe(listener);
}
