// A short memory of the active experiments runs/create has loaded, so that a training script's stream of
// runs/create does not read its experiment (and team) once per run (issue 20). Only what never changes or is
// checked again when the run is written is remembered: an experiment's team and its team's slug never change;
// that it is still active, in that team, is checked by the statement that writes the run (run-create-batch.ts,
// SQLSTATE CA002 when not), and a create refused that way is prepared again from the database. The permission
// check always runs, on the actor of the request, against the remembered team.
import type { ExperimentRef } from "./access";

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

type Entry = { ref: ExperimentRef; readAt: number };

// One memory per process: Next bundles server modules once per route.
const REGISTRY = Symbol.for("cairn.tracking.experimentRefs");
const globals = globalThis as unknown as { [REGISTRY]?: Map<number, Entry> };
const entries = (globals[REGISTRY] ??= new Map<number, Entry>());

/** The remembered experiment, if it was read active within TTL_MS. */
export function rememberedExperiment(id: number): ExperimentRef | undefined {
  const entry = entries.get(id);
  if (!entry) return undefined;
  if (Date.now() - entry.readAt > TTL_MS) {
    entries.delete(id);
    return undefined;
  }
  return entry.ref;
}

/** Remembers an experiment read from the database (active ones only: the others are refused before any write). */
export function rememberExperiment(ref: ExperimentRef): void {
  if (ref.lifecycleStage !== "active") return;
  if (entries.size >= MAX_ENTRIES) entries.clear();
  entries.set(ref.id, { ref, readAt: Date.now() });
}

/** Forgets an experiment (its write was refused: it changed since it was read). */
export function forgetExperiment(id: number): void {
  entries.delete(id);
}
