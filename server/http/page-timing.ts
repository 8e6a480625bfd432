// Timing of a page's server steps, to find what stalls a slow first byte: a step slower than SLOW_MS
// is logged with the garbage-collection pauses that overlapped it. Steps that are slow without a GC
// pause waited on the database (pool or PostgreSQL) or on the event loop (another render).
import { PerformanceObserver, performance } from "node:perf_hooks";
import { log } from "../observability/log";

const SLOW_MS = 150;
const KEPT_PAUSES = 200;

type Pause = { start: number; duration: number; kind: number | undefined };
const pauses: Pause[] = [];
let observing = false;

function observeGc(): void {
  if (observing) return;
  observing = true;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      pauses.push({ start: e.startTime, duration: e.duration, kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind });
      if (pauses.length > KEPT_PAUSES) pauses.shift();
    }
  }).observe({ entryTypes: ["gc"] });
}

/** Awaits `work`, logging it as `step` when it took SLOW_MS or more. */
export async function timed<T>(step: string, work: Promise<T>): Promise<T> {
  observeGc();
  const start = performance.now();
  try {
    return await work;
  } finally {
    const end = performance.now();
    if (end - start >= SLOW_MS) {
      const gc = pauses.filter((p) => p.start + p.duration >= start && p.start <= end);
      const gcText = gc.length ? `${gc.map((p) => `${p.duration.toFixed(1)} ms (kind ${p.kind ?? "?"})`).join(" + ")}` : "none";
      log.info(`slow page step ${step}: ${(end - start).toFixed(1)} ms, from t=${start.toFixed(0)} ms; GC meanwhile: ${gcText}`);
    }
  }
}
