// The process's worker runtime, for services to wake after they commit intent. Next bundles server modules
// once per route, so the one runtime a process runs is registered here, on a process-wide symbol; tests
// construct their own loops and drive them directly (no runtime installed: wake does nothing).
import { outsideTrace } from "../observability/tracing";
import type { LoopName, WorkerRuntime } from "./runtime";

const KEY = Symbol.for("cairn.workers.runtime");
const slot = globalThis as unknown as { [KEY]?: WorkerRuntime | null };

export function installWorkers(runtime: WorkerRuntime | null): void {
  slot[KEY] = runtime;
}

export function currentWorkers(): WorkerRuntime | null {
  return slot[KEY] ?? null;
}

/** Intent for `loop` was committed: the leader acts on it now rather than at its next interval. */
export function wake(loop: LoopName): void {
  // The pass it starts is the worker's own work, not part of the waking request's trace.
  outsideTrace(() => currentWorkers()?.wake(loop));
}
