// Parameter importance for an objective metric over the runs of a filter: scikit-learn's random forest, fitted in
// the Python named by CAIRN_OPTUNA_PYTHON (importance.py), never a hand-written estimator.
import { createHash } from "node:crypto";
import path from "node:path";
import type { ImportanceDto } from "@/lib/schemas/charts";
import type { Ctx } from "../context";
import { env } from "../env";
import { AppError } from "../errors";
import { runPython } from "../sweeps/optuna";
import { experimentColumns } from "./browse";
import type { ChartScopeInput } from "./charts";
import { chartRuns } from "./charts";

export const IMPORTANCE_HELP =
  "Parameter importance fits scikit-learn's RandomForestRegressor in the Python CAIRN_OPTUNA_PYTHON names: install it there (e.g. /opt/cairn-optuna/bin/pip install scikit-learn) and restart Cairn.";
/** Fewer runs than this with the objective and a param say nothing about importance. */
export const MIN_IMPORTANCE_RUNS = 5;
const MAX_PARAMS = 50;

export function importanceScript(): string {
  return path.resolve(process.cwd(), "server", "tracking", "importance.py");
}

type Encoded = { name: string; kind: "numeric" | "categorical"; column: number[] };

/** Numbers as they are; otherwise categories as ordinal codes. A missing value gets its own out-of-range code. */
export function encodeParam(name: string, values: (string | null)[]): Encoded {
  const present = values.filter((v): v is string => v !== null);
  const isNumeric = present.length > 0 && present.every((v) => v.trim() !== "" && Number.isFinite(Number(v)));
  if (isNumeric) {
    const nums = present.map(Number);
    const below = Math.min(...nums) - 1 - (Math.max(...nums) - Math.min(...nums));
    return { name, kind: "numeric", column: values.map((v) => (v === null ? below : Number(v))) };
  }
  const codes = new Map([...new Set(present)].sort().map((v, i) => [v, i]));
  return { name, kind: "categorical", column: values.map((v) => (v === null ? -1 : codes.get(v)!)) };
}

// One forest at a time on the host (it takes a core for seconds at 10,000 runs), a few requests waiting behind it and
// the rest told to retry; an identical question (same runs, values and params) within a minute is answered from the
// last answer. Access is checked before either: the cache is keyed by the data the caller was allowed to read.
const MAX_WORKERS = 1;
const MAX_WAITING = 4;
const CACHE_MS = 60_000;
const CACHE_ENTRIES = 50;
type WorkerState = { running: number; waiting: (() => void)[]; cache: Map<string, { at: number; answer: PythonAnswer }> };
type PythonAnswer = Awaited<ReturnType<typeof runPython>>;
const WORKERS = Symbol.for("cairn.importanceWorkers");
const workers = ((globalThis as unknown as Record<symbol, WorkerState>)[WORKERS] ??= { running: 0, waiting: [], cache: new Map() });

async function forest(python: string, request: string): Promise<PythonAnswer> {
  const key = createHash("sha256").update(python).update("\0").update(request).digest("hex");
  const hit = workers.cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.answer;
  if (workers.running >= MAX_WORKERS) {
    if (workers.waiting.length >= MAX_WAITING) {
      throw new AppError("rate_limited", "Parameter importance is being computed for other requests right now; try again in a few seconds.", { retryAfterSeconds: 5 });
    }
    // Woken with the slot handed over (running stays counted).
    await new Promise<void>((resolve) => workers.waiting.push(resolve));
  } else workers.running++;
  try {
    const answer = await runPython(python, [importanceScript()], request, 120_000);
    if (answer.code === 0) {
      workers.cache.set(key, { at: Date.now(), answer });
      if (workers.cache.size > CACHE_ENTRIES) workers.cache.delete(workers.cache.keys().next().value!);
    }
    return answer;
  } finally {
    const next = workers.waiting.shift();
    if (next) next();
    else workers.running--;
  }
}

export async function parameterImportance(
  ctx: Ctx,
  input: ChartScopeInput & { objective: string; params?: string[] },
  python = env().sweeps.optunaPython,
): Promise<ImportanceDto> {
  const paramNames = (input.params?.length ? input.params : (await experimentColumns(ctx, input.experimentId)).params).slice(0, MAX_PARAMS);
  const data = await chartRuns(ctx, { ...input, keys: [`metrics.${input.objective}`, ...paramNames.map((p) => `params.${p}` as const)] });
  const y = data.values[`metrics.${input.objective}`] ?? [];
  const rows = data.runs.map((_, i) => i).filter((i) => typeof y[i] === "number");
  const base = { objective: input.objective, runs_used: rows.length, method: null, importances: [] };
  if (paramNames.length === 0) return { ...base, available: true, message: "The runs of this filter log no params." };
  if (rows.length < MIN_IMPORTANCE_RUNS) {
    return { ...base, available: true, message: `Importance needs at least ${MIN_IMPORTANCE_RUNS} runs with ${input.objective}; this filter has ${rows.length}.` };
  }
  const all = paramNames.map((p) => encodeParam(p, rows.map((i) => (data.values[`params.${p}`]?.[i] ?? null) as string | null)));
  // A text param with its own value in nearly every run (an id, a path, a commit) is not a setting: a forest would
  // split on its arbitrary codes and credit it with noise.
  const isIdentifier = (e: Encoded) => e.kind === "categorical" && new Set(e.column).size >= Math.max(2, 0.9 * rows.length);
  const encoded = all.filter((e) => !isIdentifier(e));
  const skipped = all.filter(isIdentifier).map((e) => e.name);
  const skippedNote = skipped.length > 0 ? ` Skipped ${skipped.join(", ")}: nearly every run has its own value.` : "";
  if (encoded.length === 0) return { ...base, available: true, message: `No param to explain ${input.objective} with.${skippedNote}` };
  const request = { columns: encoded.map((e) => e.name), rows: rows.map((_, r) => encoded.map((e) => e.column[r]!)), y: rows.map((i) => y[i] as number), seed: 0 };
  const answer = await forest(python, JSON.stringify(request));
  let parsed: { importances?: Record<string, number>; library?: string; missing?: string; error?: string } = {};
  try {
    parsed = JSON.parse(answer.stdout) as typeof parsed;
  } catch {
    parsed = { error: answer.stderr.trim().split("\n").slice(-3).join(" ") || `exited with code ${answer.code}` };
  }
  if (parsed.missing || (answer.code === null && !parsed.importances)) {
    return { ...base, available: false, message: `${parsed.missing ?? "Python"} is not available with ${python}. ${IMPORTANCE_HELP}` };
  }
  if (answer.code !== 0 || !parsed.importances) {
    throw new AppError("upstream_unavailable", `The importance worker (${python}) failed: ${parsed.error ?? "no answer"}.`);
  }
  const scores = parsed.importances;
  return {
    ...base,
    available: true,
    method: `${parsed.library ?? "scikit-learn"} RandomForestRegressor, impurity-based importance`,
    message: `Random-forest importance of ${encoded.length} params for ${input.objective} over ${rows.length} runs${data.truncated ? ` (the newest ${data.runs.length} of ${data.total})` : ""}.${skippedNote}`,
    importances: encoded.map((e) => ({ param: e.name, importance: scores[e.name] ?? 0, kind: e.kind })).sort((a, b) => b.importance - a.importance),
  };
}
