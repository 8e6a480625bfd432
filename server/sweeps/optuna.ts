// Bayesian search through Optuna (TPE), never a hand-written optimizer: suggest.py, run with the Python named by
// CAIRN_OPTUNA_PYTHON, rebuilds the study from the sweep's trials and asks for the next params (JSON on stdin/stdout).
import { spawn } from "node:child_process";
import path from "node:path";
import type { SweepParam } from "@/db/schema";
import type { SweepCapabilities } from "@/lib/schemas/sweeps";
import { env } from "../env";
import { AppError } from "../errors";
import type { TrialParams } from "./space";

export const OPTUNA_HELP =
  "Bayesian search runs Optuna (TPE) in a Python that has it: install it (python3 -m venv /opt/cairn-optuna && /opt/cairn-optuna/bin/pip install optuna) and set CAIRN_OPTUNA_PYTHON=/opt/cairn-optuna/bin/python, then restart Cairn. Grid and random search need nothing.";

export function suggestScript(): string {
  return path.resolve(process.cwd(), "server", "sweeps", "suggest.py");
}

export type PythonAnswer = { code: number | null; stdout: string; stderr: string };

/** Runs a worker script in the given Python with only PATH in its environment, JSON in on stdin. */
export function runPython(python: string, args: string[], input: string, timeoutMs: number): Promise<PythonAnswer> {
  return new Promise((resolve) => {
    // Only PATH: no server secret reaches the worker.
    const childEnv: Record<string, string> = { PATH: env().pathDirs.join(path.delimiter) };
    const child = spawn(python, args, { stdio: ["pipe", "pipe", "pipe"], timeout: timeoutMs, env: childEnv as NodeJS.ProcessEnv });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => { if (stdout.length < 1_000_000) stdout += c.toString("utf8"); });
    child.stderr.on("data", (c: Buffer) => { if (stderr.length < 20_000) stderr += c.toString("utf8"); });
    child.on("error", (err) => resolve({ code: null, stdout, stderr: String(err.message) }));
    child.on("close", (code) => resolve({ code, stdout, stderr }));
    child.stdin.on("error", () => undefined);
    child.stdin.end(input);
  });
}

let checked: { python: string; at: number; result: SweepCapabilities["bayesian"] } | null = null;
const RECHECK_MS = 60_000;

/** Whether Bayesian search can run here: `import optuna` in CAIRN_OPTUNA_PYTHON (checked at most once a minute). */
export async function bayesianAvailability(python = env().sweeps.optunaPython): Promise<SweepCapabilities["bayesian"]> {
  if (checked && checked.python === python && Date.now() - checked.at < RECHECK_MS) return checked.result;
  const answer = await runPython(python, ["-c", "import optuna, sys; sys.stdout.write(optuna.__version__)"], "", 30_000);
  const result = answer.code === 0
    ? { available: true, message: `Optuna ${answer.stdout.trim()} (TPE) in ${python}` }
    : { available: false, message: `Optuna is not importable with ${python}. ${OPTUNA_HELP}` };
  checked = { python, at: Date.now(), result };
  return result;
}

export type OptunaTrial = { params: TrialParams; state: "complete" | "pruned" | "fail" | "running"; value: number | null; intermediate?: Record<string, number> };

/** The next `count` params Optuna's TPE suggests, given the sweep's trials so far. */
export async function suggestBayesian(input: { space: SweepParam[]; direction: "minimize" | "maximize"; seed: number; count: number; trials: OptunaTrial[] }): Promise<TrialParams[]> {
  const python = env().sweeps.optunaPython;
  const answer = await runPython(python, [suggestScript()], JSON.stringify(input), 120_000);
  let parsed: { suggestions?: TrialParams[]; error?: string } = {};
  try {
    parsed = JSON.parse(answer.stdout) as typeof parsed;
  } catch {
    parsed = { error: answer.stderr.trim().split("\n").slice(-3).join(" ") || `exited with code ${answer.code}` };
  }
  if (answer.code !== 0 || !parsed.suggestions) {
    checked = null;
    throw new AppError("upstream_unavailable", `Optuna's suggestion worker (${python}) failed: ${parsed.error ?? "no answer"}. ${OPTUNA_HELP}`);
  }
  return parsed.suggestions;
}
