// CPU and memory of a local job, read from /proc: every process descended from the attempt's spawned pid
// (bwrap, prlimit and setpriv exec into one another; the job's own children fork below), so the sandbox
// and whatever the job starts count, even processes that left the job's process group.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

export type TreeUsage = {
  pids: number[];
  /** User + system CPU of the tree's processes, and of their children already reaped, in seconds. */
  cpuSeconds: number;
  /** Resident memory (VmRSS) summed over the tree's processes; shared pages count once per process. */
  memoryBytes: number;
  /** Seconds since boot when the root started. */
  rootStartSeconds: number;
};

let clockTicks: number | null = null;

/** Clock ticks per second (USER_HZ), the unit of /proc/<pid>/stat's times. */
export function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Seconds since boot, the clock /proc/<pid>/stat's start times count on. */
export function uptimeSeconds(): number {
  return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
}

type Stat = { pid: number; ppid: number; ticks: number; start: number };

/** Fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function readStat(pid: number): Stat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17, starttime 22.
    const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return { pid, ppid: Number(f[1]), ticks, start: Number(f[19]) };
  } catch {
    return null;
  }
}

function residentBytes(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    return kb ? Number(kb) * 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * The usage of `root` and every process below it, now; null when `root` is gone or is no longer the process
 * that started at `startTicks` (a recycled pid).
 */
export function processTreeUsage(root: number, startTicks?: string): TreeUsage | null {
  const rootStat = readStat(root);
  if (!rootStat || (startTicks !== undefined && String(rootStat.start) !== startTicks)) return null;
  const children = new Map<number, Stat[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (!s) continue;
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const tree: Stat[] = [];
  const queue = [rootStat];
  while (queue.length > 0) {
    const s = queue.shift()!;
    // A child cannot be older than its parent: anything else is a pid reused after the parent's child exited.
    if (s !== rootStat && s.start < rootStat.start) continue;
    tree.push(s);
    queue.push(...(children.get(s.pid) ?? []));
  }
  const hz = ticksPerSecond();
  return {
    pids: tree.map((s) => s.pid),
    cpuSeconds: tree.reduce((n, s) => n + s.ticks, 0) / hz,
    memoryBytes: tree.reduce((n, s) => n + residentBytes(s.pid), 0),
    rootStartSeconds: rootStat.start / hz,
  };
}

/**
 * CPU cores used between two readings of the same tree (the first: since the root started). A process that
 * exits unreaped takes its time with it, so a drop reads as 0, never as negative.
 */
export function coresBetween(before: { cpuSeconds: number; at: number } | null, now: TreeUsage, at = uptimeSeconds()): number {
  const [cpu, since] = before ? [now.cpuSeconds - before.cpuSeconds, before.at] : [now.cpuSeconds, now.rootStartSeconds];
  const elapsed = at - since;
  return elapsed > 0 ? Math.max(0, cpu / elapsed) : 0;
}
