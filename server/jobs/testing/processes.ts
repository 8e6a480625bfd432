// What is left of a job's processes, seen from the host. In the sandbox a job prints its own pid namespace's
// pids, so tests find its processes by the attempt's host pid (its handle) or by the uid it ran as.
import { readdirSync, readFileSync } from "node:fs";

/** A live (not zombie) process with this host pid. */
export function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
  } catch {
    return false;
  }
}

/** The uid the job's latest attempt ran as, from the log's sandbox line (isolated mode), else null. */
export function sandboxUid(log: string): number | null {
  const all = [...log.matchAll(/=== sandbox: isolated \(uid (\d+)\)/g)];
  return all.length > 0 ? Number(all[all.length - 1]![1]) : null;
}

/** Host pids of live processes running as `uid`. */
export function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
      if (Number(real) === uid && !/^State:\s+Z/m.test(status)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The host pid of the attempt behind a local executor's handle ("pid:<pid>:<ticks>"). */
export function handlePid(ref: string | null): number {
  const pid = Number(/^pid:(\d+):/.exec(ref ?? "")?.[1]);
  if (!(pid > 0)) throw new Error(`not a local executor handle: ${ref}`);
  return pid;
}
