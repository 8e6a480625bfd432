// Resource limits for local jobs through the kernel's control groups, as Kubernetes sets a pod's limits: a job
// gets its own cgroup with a memory limit of the memory it asked for (the kernel's OOM killer ends it past
// that), a CPU quota of the cores it asked for, and a process limit. Created under the server's own cgroup (so a
// job never escapes the limits the server itself runs under), before the job starts: the job's first process
// joins the cgroups and only then becomes bwrap, so nothing the job forks is ever outside them.
//
// Works with cgroup v2 (the unified hierarchy, memory/cpu/pids enabled for children) and v1 (separate memory,
// cpu and pids hierarchies), when the server may create cgroups (root, or a delegated subtree). Elsewhere jobs
// run without kernel limits and `cgroupSupport()` says why (admin console, job log, README).
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";

export type CgroupLimits = { cpu: number; memoryBytes: number; pids: number };
export type CgroupSupport = { version: 1 | 2; parents: Record<Controller, string> } | { version: null; reason: string };
type Controller = "memory" | "cpu" | "pids";

/** A job's cgroups: the files its first process writes its pid into, and the cleanup once it has ended. */
export type JobCgroup = {
  procs: string[];
  /** Times the kernel's OOM killer ended a process in it (memory limit reached). */
  oomKills(): number;
  remove(): void;
};

const ROOT = "/sys/fs/cgroup";
const GROUP = "cairn-jobs";
let cached: CgroupSupport | undefined;

/** Whether this host lets the server give jobs kernel limits, probed once (it creates and removes a test cgroup). */
export function cgroupSupport(): CgroupSupport {
  cached ??= probe();
  return cached;
}

/** For tests: forget the probe. */
export function resetCgroupProbe(): void {
  cached = undefined;
}

function ownPaths(): { v2?: string; v1: Map<string, string> } {
  const v1 = new Map<string, string>();
  let v2: string | undefined;
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === "") v2 = m[2];
    else for (const c of m[1]!.split(",")) v1.set(c, m[2]!);
  }
  return { v2, v1 };
}

function probe(): CgroupSupport {
  if (process.platform !== "linux") return { version: null, reason: "control groups are a Linux feature" };
  try {
    let parents: Record<Controller, string>;
    let version: 1 | 2;
    if (existsSync(path.join(ROOT, "cgroup.controllers"))) {
      version = 2;
      // Jobs go below the server's own cgroup, so they stay inside whatever limits the server runs under (a
      // systemd service's MemoryMax, CPUQuota, TasksMax) and die with it. A v2 cgroup that holds processes may
      // not enable controllers for children, so the server first moves itself into a leaf of its own cgroup.
      const own = path.join(ROOT, ownPaths().v2 ?? "/");
      const wanted = ["memory", "cpu", "pids"];
      const enabled = () => readFileSync(path.join(own, "cgroup.subtree_control"), "utf8").split(/\s+/);
      if (!wanted.every((c) => enabled().includes(c))) {
        const available = readFileSync(path.join(own, "cgroup.controllers"), "utf8").split(/\s+/);
        const missing = wanted.filter((c) => !available.includes(c));
        if (missing.length) return { version: null, reason: `cgroup v2: the ${missing.join(", ")} controller(s) are not delegated to ${own}` };
        const leaf = path.join(own, "cairn-server");
        mkdirSync(leaf, { recursive: true });
        writeFileSync(path.join(leaf, "cgroup.procs"), String(process.pid));
        try {
          writeFileSync(path.join(own, "cgroup.subtree_control"), "+memory +cpu +pids");
        } catch {
          return { version: null, reason: `cgroup v2: other processes share Cairn's cgroup ${own}, so it cannot give jobs cgroups below it; run Cairn in a cgroup of its own (systemd: Delegate=yes)` };
        }
      }
      const group = path.join(own, GROUP);
      mkdirSync(group, { recursive: true });
      writeFileSync(path.join(group, "cgroup.subtree_control"), "+memory +cpu +pids");
      parents = { memory: group, cpu: group, pids: group };
    } else {
      version = 1;
      const dirs = {} as Record<Controller, string>;
      for (const c of ["memory", "cpu", "pids"] as const) {
        const mount = path.join(ROOT, c);
        if (!existsSync(path.join(mount, "cgroup.procs"))) return { version: null, reason: `cgroup v1: no ${c} hierarchy at ${mount}` };
        dirs[c] = path.join(mount, ownPaths().v1.get(c) ?? "/", GROUP);
        mkdirSync(dirs[c], { recursive: true });
      }
      parents = dirs;
    }
    // Cgroups of jobs that ended while no server watched (a restart) are empty: rmdir removes only those.
    for (const parent of new Set(Object.values(parents))) {
      for (const child of readdirSync(parent, { withFileTypes: true })) {
        if (!child.isDirectory()) continue;
        try {
          // Not one another server on this host has just made for a job about to join it.
          const dir = path.join(parent, child.name);
          if (Date.now() - statSync(dir).ctimeMs < 60_000) continue;
          rmdirSync(dir);
        } catch {
          // still has processes: a job that runs on
        }
      }
    }
    // A test cgroup with a limit, to be sure the limits can be written (not only the folders made).
    const test = create({ version, parents }, `probe-${process.pid}`, { cpu: 1, memoryBytes: 256 << 20, pids: 64 });
    test.remove();
    return { version, parents };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { version: null, reason: code === "EACCES" || code === "EROFS" || code === "EPERM" ? "the server may not create control groups (not root, no delegated cgroup)" : `control groups unusable: ${(err as Error).message}` };
  }
}

function create(support: { version: 1 | 2; parents: Record<Controller, string> }, name: string, limits: CgroupLimits): JobCgroup {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, "_");
  const cpuPeriod = 100_000;
  const cpuQuota = Math.max(1_000, Math.round(limits.cpu * cpuPeriod));
  const memory = Math.max(16 << 20, Math.floor(limits.memoryBytes));
  const dirs: string[] = [];
  const make = (dir: string) => {
    mkdirSync(dir);
    dirs.push(dir);
    return dir;
  };
  try {
    if (support.version === 2) {
      const dir = make(path.join(support.parents.memory, safe));
      writeFileSync(path.join(dir, "memory.max"), String(memory));
      try {
        writeFileSync(path.join(dir, "memory.swap.max"), "0");
      } catch {
        // no swap accounting: the memory limit alone
      }
      writeFileSync(path.join(dir, "cpu.max"), `${cpuQuota} ${cpuPeriod}`);
      writeFileSync(path.join(dir, "pids.max"), String(limits.pids));
    } else {
      const mem = make(path.join(support.parents.memory, safe));
      writeFileSync(path.join(mem, "memory.limit_in_bytes"), String(memory));
      // With swap accounting, memory + swap is held to the same figure, so a job cannot swap past its limit.
      if (existsSync(path.join(mem, "memory.memsw.limit_in_bytes"))) writeFileSync(path.join(mem, "memory.memsw.limit_in_bytes"), String(memory));
      const cpu = make(path.join(support.parents.cpu, safe));
      writeFileSync(path.join(cpu, "cpu.cfs_period_us"), String(cpuPeriod));
      writeFileSync(path.join(cpu, "cpu.cfs_quota_us"), String(cpuQuota));
      const pids = make(path.join(support.parents.pids, safe));
      writeFileSync(path.join(pids, "pids.max"), String(limits.pids));
    }
  } catch (err) {
    removeDirs(dirs);
    throw err;
  }
  const memDir = dirs[0]!;
  return {
    procs: dirs.map((d) => path.join(d, "cgroup.procs")),
    oomKills() {
      try {
        const text = readFileSync(path.join(memDir, support.version === 2 ? "memory.events" : "memory.oom_control"), "utf8");
        return Number(/^oom_kill (\d+)/m.exec(text)?.[1] ?? 0);
      } catch {
        return 0;
      }
    },
    remove: () => removeDirs(dirs),
  };
}

/** rmdir each (a cgroup is removed with rmdir once empty; its processes may take a moment to be reaped). */
function removeDirs(dirs: string[], triesLeft = 20): void {
  const left = dirs.filter((d) => {
    try {
      rmdirSync(d);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code !== "ENOENT";
    }
  });
  if (left.length && triesLeft > 0) setTimeout(() => removeDirs(left, triesLeft - 1), 250).unref();
}

/** The job attempt's cgroups with these limits, or null where the host has none to give (see cgroupSupport). */
export function createJobCgroup(name: string, limits: CgroupLimits): JobCgroup | null {
  const support = cgroupSupport();
  if (support.version === null) return null;
  return create(support, name, limits);
}

/**
 * The command that joins the cgroups and then becomes `argv`: a shell writes its own pid into each cgroup.procs
 * (as the server's user, before any sandbox or uid change) and execs, so the job's first process is in the
 * cgroups before it can fork.
 */
export function joinCgroupsCommand(cgroup: JobCgroup, argv: string[]): string[] {
  const joins = cgroup.procs.map((_, i) => `echo $$ > "$${i + 1}"`).join(" && ");
  return ["/bin/sh", "-c", `${joins} && shift ${cgroup.procs.length} && exec "$@"`, "cairn-cgroup", ...cgroup.procs, ...argv];
}
