// Test helper: an executor that runs nothing — each attempt is held until the test ends it (exit code) or Cairn
// cancels it — so a sweep's trials can be driven step by step, their metrics logged by the test as a job would.
import type { AttemptHandlers, ComputeBackend, LaunchSpec } from "@/server/compute/backend";

export type HeldBackend = ComputeBackend & {
  /** Commands of attempts started, by job id (the last attempt's). */
  commands: Map<string, string[]>;
  /** Ends the job's held attempt with `code`; false if it holds none. */
  exit(jobId: string, code: number): boolean;
  holds(jobId: string): boolean;
};

export function heldBackend(): HeldBackend {
  const byRef = new Map<string, { jobId: string; onExit: AttemptHandlers["onExit"] }>();
  const commands = new Map<string, string[]>();
  const refOf = (jobId: string) => [...byRef].find(([, a]) => a.jobId === jobId)?.[0];
  return {
    name: "local",
    commands,
    async start(spec: LaunchSpec, handlers: AttemptHandlers) {
      const ref = `held-${spec.jobId}-${spec.attempt}`;
      byRef.set(ref, { jobId: spec.jobId, onExit: handlers.onExit });
      commands.set(spec.jobId, spec.command);
      return { ref };
    },
    async cancel(ref) {
      const a = byRef.get(ref);
      byRef.delete(ref);
      a?.onExit({ exitCode: null, signal: "SIGTERM", reason: "cancelled" });
    },
    async isAlive(ref) { return byRef.has(ref); },
    async kill(ref) { byRef.delete(ref); },
    async locate(at) { const ref = `held-${at.jobId}-${at.attempt}`; return byRef.has(ref) ? ref : null; },
    exit(jobId, code) {
      const ref = refOf(jobId);
      if (!ref) return false;
      const a = byRef.get(ref)!;
      byRef.delete(ref);
      a.onExit({ exitCode: code, signal: null });
      return true;
    },
    holds(jobId) { return refOf(jobId) !== undefined; },
  };
}
