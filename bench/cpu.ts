// Where the machine's CPU went during a timed phase: this process, the PostgreSQL backends of the
// bench's database, and everything else (other jobs on the box, PostgreSQL's background processes).
// On a shared 2-core machine this says whether a slow figure was ours or a neighbour's.
import { readFileSync, readdirSync } from "node:fs";

export type CpuSnapshot = { at: number; machine: number; node: number; postgres: Map<string, number> };
export type CpuShare = { wallMs: number; nodeCores: number; postgresCores: number; otherCores: number; nodeMs: number; postgresMs: number };

/** CPU seconds the whole machine has spent busy so far (all processes, /proc/stat). */
function machineBusySeconds(): number {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = fields;
  return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / 100;
}

/** CPU seconds used so far by each PostgreSQL backend connected to `database` (from /proc), by pid. */
function postgresCpuSeconds(database: string): Map<string, number> {
  const byPid = new Map<string, number>();
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      if (name !== "postgres" || !readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(` ${database} `)) continue;
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      byPid.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // the process ended meanwhile
    }
  }
  return byPid;
}

export function cpuSnapshot(database: string): CpuSnapshot {
  const own = process.cpuUsage();
  return { at: performance.now(), machine: machineBusySeconds(), node: (own.user + own.system) / 1e6, postgres: postgresCpuSeconds(database) };
}

export function cpuSince(start: CpuSnapshot, database: string): CpuShare {
  const end = cpuSnapshot(database);
  const wallS = (end.at - start.at) / 1000;
  const node = end.node - start.node;
  // Backends that exited meanwhile (the pool closes idle connections) are left out: a lower bound.
  let postgres = 0;
  for (const [pid, seconds] of end.postgres) postgres += seconds - (start.postgres.get(pid) ?? 0);
  const other = Math.max(0, end.machine - start.machine - node - postgres);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { wallMs: r(wallS * 1000), nodeCores: r(node / wallS), postgresCores: r(postgres / wallS), otherCores: r(other / wallS), nodeMs: r(node * 1000), postgresMs: r(postgres * 1000) };
}

/**
 * How fast this machine's cores are, so figures from different machines can be compared: the best of three
 * runs of a fixed single-threaded loop (lower is faster). Machines of the same nominal size differ by 2× here.
 */
export function cpuCalibration(): number {
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t = performance.now();
    let x = 0;
    for (let i = 0; i < 1e8; i++) x = (x + i * 7) % 1_000_003;
    if (x < 0) throw new Error("unreachable");
    best = Math.min(best, performance.now() - t);
  }
  return Math.round(best);
}
