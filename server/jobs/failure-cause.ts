// Why a job's attempt failed, in one line a user can act on: found in the tail of its log (a Python
// traceback's final exception, a Node error with its stack, an out-of-memory sign, a missing module or file)
// and in how it ended (a timeout, a signal, Kubernetes' OOMKilled, memory at the limit) — else its exit code.
import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { constants } from "node:os";
import type { FailureCause, FailureKind } from "@/db/schema";

export type { FailureCause, FailureKind };

/** How the attempt ended, as the executor and the resource sampler saw it. */
export type ExitFacts = {
  exitCode: number | null;
  signal: string | null;
  reason?: "cancelled" | "timeout";
  maxRuntimeSeconds?: number;
  /** The container was killed for exceeding its memory limit (Kubernetes' OOMKilled). */
  oomKilled?: boolean;
  /** The highest memory sampled during the attempt, and the job's memory. */
  memory?: { peakBytes: number; limitBytes: number };
};

/** The end of a job's log: its text, and the 1-based line number of its first line in the whole log (when counted). */
export type LogTail = { text: string; firstLine: number | null };

export const TAIL_BYTES = 64 * 1024;
const SUMMARY_MAX = 300;
/** Memory at or above this share of the job's memory when it was SIGKILLed counts as out of memory. */
const NEAR_LIMIT = 0.9;
/** Lines before the tail are counted for the line number only up to this size (a read of the prefix). */
const COUNT_MAX = 256 * 1024 * 1024;

// ---- reading ------------------------------------------------------------------------------------

function countNewlines(fd: number, end: number): number {
  const buf = Buffer.alloc(1024 * 1024);
  let n = 0;
  for (let pos = 0; pos < end; ) {
    const read = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
    if (read <= 0) break;
    for (let i = 0; i < read; i++) if (buf[i] === 0x0a) n++;
    pos += read;
  }
  return n;
}

/** The last `maxBytes` of the log, starting at a whole line, with that line's number in the whole log. */
export function readLogTail(file: string, maxBytes = TAIL_BYTES): LogTail {
  if (!existsSync(file)) return { text: "", firstLine: 1 };
  const size = statSync(file).size;
  const start = Math.max(0, size - maxBytes);
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    if (start === 0) return { text: buf.toString("utf8"), firstLine: 1 };
    // The tail began mid-line: it starts after the first newline.
    const cut = buf.indexOf(0x0a);
    if (cut < 0) return { text: "", firstLine: null };
    const from = start + cut + 1;
    return { text: buf.subarray(cut + 1).toString("utf8"), firstLine: from <= COUNT_MAX ? countNewlines(fd, from) + 1 : null };
  } finally {
    closeSync(fd);
  }
}

// ---- finding ------------------------------------------------------------------------------------

const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const ATTEMPT_START = /^=== attempt \d+ started /;
const TRACEBACK = /^Traceback \(most recent call last\):\s*$/;
/** An exception's line: a (dotted) name ending in Error or Exception, an optional [CODE], then its message. */
const EXCEPTION_LINE = /^(?:Uncaught )?(?:[A-Za-z_$][\w$]*\.)*[A-Za-z_$][\w$]*(?:Error|Exception)(?: \[[A-Z0-9_]+\])?(?::\s+\S.*)?$/;
const STACK_FRAME = /^\s+at\s/;

const OOM = [/\bMemoryError\b/, /std::bad_alloc/, /\bout of memory\b/i, /JavaScript heap out of memory/, /\bOutOfMemoryError\b/, /Out of memory: Kill(?:ed)? process/i, /Cannot allocate memory/];
const MISSING_MODULE = [/\bModuleNotFoundError\b/, /No module named\s/, /Cannot find (?:module|package) ['"]/, /\bERR_MODULE_NOT_FOUND\b/];
const NOT_FOUND = [/command not found/, /^(?:\S+: )*\S+: not found\s*$/, /No such file or directory/, /\bFileNotFoundError\b/, /\bENOENT\b/];
const PERMISSION = [/Permission denied/, /\bPermissionError\b/, /\bEACCES\b/, /Operation not permitted/];
/** The shell's report of a child killed by SIGKILL ("Killed", "sh: line 1: 42 Killed  python train.py"). */
const KILLED_LINE = /(?:^|\s)Killed(?:\s|$)/;

type Candidate = { index: number; summary: string; kind: FailureKind; tier: number };

function classify(line: string, fallback: FailureKind | null): FailureKind | null {
  if (OOM.some((r) => r.test(line))) return "oom";
  if (MISSING_MODULE.some((r) => r.test(line))) return "missing_module";
  if (PERMISSION.some((r) => r.test(line))) return "permission";
  if (NOT_FOUND.some((r) => r.test(line))) return "not_found";
  return fallback;
}

function clip(line: string): string {
  const t = line.trim();
  return t.length > SUMMARY_MAX ? `${t.slice(0, SUMMARY_MAX - 1)}…` : t;
}

/** The exit code a signal gives a shell (128 + its number), and back. */
function signalName(code: number | null): string | null {
  if (code === null || code <= 128 || code > 128 + 64) return null;
  const entry = Object.entries(constants.signals).find(([, n]) => n === code - 128);
  return entry ? entry[0] : null;
}

function killedBySigkill(exit: ExitFacts): boolean {
  return exit.signal === "SIGKILL" || (exit.signal === null && exit.exitCode === 137);
}

const memory = (bytes: number) => (bytes < 1024 ** 3 ? `${Math.round(bytes / 1024 ** 2)} MiB` : `${Number((bytes / 1024 ** 3).toPrecision(3))} GiB`);

/** The lines of the last attempt in the tail, with their indexes (Cairn's own "=== " lines left out). */
function attemptLines(text: string): { lines: string[]; offset: number } {
  const all = text.split("\n").map((l) => l.replace(ANSI, "").replace(/\r$/, ""));
  let from = 0;
  for (let i = all.length - 1; i >= 0; i--) {
    if (ATTEMPT_START.test(all[i]!)) {
      from = i + 1;
      break;
    }
  }
  return { lines: all.slice(from), offset: from };
}

function candidates(lines: string[], exit: ExitFacts): Candidate[] {
  const found: Candidate[] = [];
  const taken = new Set<number>();
  const add = (index: number, kind: FailureKind, tier: number) => {
    if (taken.has(index)) return;
    taken.add(index);
    found.push({ index, summary: clip(lines[index]!), kind, tier: kind === "oom" ? 3 : tier });
  };
  // Python tracebacks: the first unindented line after the frames is the exception (chained ones: each is a candidate).
  for (let i = 0; i < lines.length; i++) {
    if (!TRACEBACK.test(lines[i]!)) continue;
    let j = i + 1;
    while (j < lines.length && (/^\s/.test(lines[j]!) || lines[j] === "")) j++;
    if (j < lines.length && !lines[j]!.startsWith("=== ")) add(j, classify(lines[j]!, "exception")!, 2);
  }
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("=== ")) continue;
    if (EXCEPTION_LINE.test(line.trim())) {
      // With a stack below it (Node, Java): as good as a traceback; alone, a hint like any other.
      const stacked = lines.slice(i + 1, i + 8).some((l) => STACK_FRAME.test(l));
      add(i, classify(line, "exception")!, stacked ? 2 : 1);
      continue;
    }
    const kind = classify(line, null);
    if (kind) add(i, kind, 1);
    else if (killedBySigkill(exit) && KILLED_LINE.test(line) && line.trim().length < 200) add(i, "oom", 3);
  }
  return found;
}

function exitSummary(exit: ExitFacts): FailureCause {
  if (exit.signal) return { summary: `killed by ${exit.signal}`, kind: "signal" };
  const sig = signalName(exit.exitCode);
  if (sig) return { summary: `exited with code ${exit.exitCode} (killed by ${sig})`, kind: "signal" };
  return { summary: exit.exitCode === null ? "ended without an exit code" : `exited with code ${exit.exitCode}`, kind: "exit" };
}

/**
 * The most useful cause of a failed attempt. `log` is the tail of the job's log (only the last attempt's part
 * is read); `line` is the cause's 1-based line in the whole log when the tail's first line number is known.
 */
export function findFailureCause(log: LogTail, exit: ExitFacts): FailureCause {
  if (exit.reason === "timeout") {
    const limit = exit.maxRuntimeSeconds ? ` of ${exit.maxRuntimeSeconds} s` : "";
    return { summary: `stopped: exceeded its max runtime${limit} (max_runtime_seconds)`, kind: "timeout" };
  }
  const { lines, offset } = attemptLines(log.text);
  const found = candidates(lines, exit);
  const lineOf = (index: number) => (log.firstLine === null ? {} : { line: log.firstLine + offset + index });
  const killed = killedBySigkill(exit);
  const nearLimit = exit.memory && exit.memory.limitBytes > 0 && exit.memory.peakBytes >= NEAR_LIMIT * exit.memory.limitBytes;
  const oomEvidence = exit.oomKilled || (killed && nearLimit);
  // An out-of-memory line wins; a Python or Node exception next; a hint line (not found, permission…) after; the
  // last of the best kind. A shell's exit code 127 (not found) or 126 (not executable) picks its own hint first.
  const preferred = exit.exitCode === 127 ? "not_found" : exit.exitCode === 126 ? "permission" : null;
  const rank = (c: Candidate) => (c.kind === preferred ? 2.5 : c.tier);
  let best: Candidate | null = null;
  for (const c of found) if (!best || rank(c) >= rank(best)) best = c;
  if (best && best.kind === "oom") {
    // The shell's "Killed" says little by itself: say what it most likely was.
    const summary = KILLED_LINE.test(best.summary) && !OOM.some((r) => r.test(best.summary)) ? `${outOfMemory(exit, Boolean(oomEvidence))} (the log says "${best.summary}")` : best.summary;
    return { summary: clip(summary), kind: "oom", ...lineOf(best.index) };
  }
  if (oomEvidence) return { summary: outOfMemory(exit, true), kind: "oom" };
  if (best) return { summary: best.summary, kind: best.kind, ...lineOf(best.index) };
  return exitSummary(exit);
}

function outOfMemory(exit: ExitFacts, certain: boolean): string {
  const used = exit.memory && exit.memory.limitBytes > 0 ? `; its memory reached ${memory(exit.memory.peakBytes)} of ${memory(exit.memory.limitBytes)}` : "";
  if (exit.oomKilled) return `out of memory: killed for exceeding its memory limit (OOMKilled)${used}`;
  return certain ? `out of memory: killed by SIGKILL${used}` : `killed by SIGKILL, most likely out of memory${used}`;
}
