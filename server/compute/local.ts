// The local executor: each attempt is a real child process in its own process group and working
// directory, inside the job sandbox (./sandbox.ts: its own uid and namespaces where the host allows), with
// stdout and stderr appended to the job's log file. Cancel and the deadline kill the
// whole group (SIGTERM, then SIGKILL after a grace period). Handles survive a server restart as
// "pid:<pid>:<start ticks>", so recovery never signals a recycled pid.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { chmodSync, closeSync, lchownSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, writeSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { env } from "../env";
import type { AttemptHandlers, ComputeBackend, ExitInfo, LaunchSpec, ResourceUsage } from "./backend";
import { coresBetween, processTreeUsage, uptimeSeconds } from "./process-usage";
import { jobUid, runsAsOwnUid, sandboxedCommand, sandboxEnv, sandboxStatus } from "./sandbox";
import { cgroupSupport, createJobCgroup, joinCgroupsCommand } from "./cgroup";
import type { JobCgroup } from "./cgroup";
import type { CairnForward, SandboxConfig, SandboxStatus } from "./sandbox";
import { log } from "../observability/log";

const GRACE_MS = 5_000;

type Live = { pid: number; uid: number | null; reason?: ExitInfo["reason"]; timer?: NodeJS.Timeout; killTimer?: NodeJS.Timeout };

export function localSandboxConfig(): SandboxConfig {
  const e = env();
  return { ...e.jobSandbox, repoDir: process.cwd(), dataDir: e.dataDir, pathDirs: e.pathDirs };
}

/** How the local executor contains jobs on this host (admin console, health, the job log's header). */
export function localSandboxStatus(): SandboxStatus {
  const status = sandboxStatus(localSandboxConfig());
  const support = env().jobSandbox.cgroups === "off" ? null : cgroupSupport();
  const limits = support?.version
    ? ` The kernel holds each job to the CPU and memory it asked for and ${JOB_PIDS.toLocaleString("en-US")} processes (cgroup v${support.version}); past its memory the job is killed, as on Kubernetes.`
    : ` No kernel limits: a job can use more CPU and memory than it asked for (${support ? support.reason : "CAIRN_JOB_CGROUPS=off"}).`;
  return { ...status, detail: status.detail + limits };
}

/** Where Cairn's API is, as host and port (the scheme's default port when the URL names none). */
function trackingTarget(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80;
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port };
}

/** Whether a job's own loopback can stand in for this host: a loopback address, or a name a hosts file can map. */
function loopbackName(host: string): "loopback" | "name" | "address" {
  if (host === "localhost" || host === "::1" || /^127\./.test(host)) return "loopback";
  return net.isIP(host) === 0 ? "name" : "address";
}

/** The forward a cairn-only job needs: the relay's socket, the tracking port and, for a hostname, a hosts file. */
export async function cairnForward(dataDir: string, trackingUrl: string): Promise<CairnForward> {
  const target = trackingTarget(trackingUrl);
  const kind = loopbackName(target.host);
  if (kind === "address") {
    throw new Error(`CAIRN_TRACKING_URL names the address ${target.host}, which a job cannot reach in its own network (CAIRN_JOB_NETWORK=cairn-only): name Cairn by a hostname or a loopback address, or set CAIRN_JOB_NETWORK=host`);
  }
  const socket = await cairnRelay(dataDir, trackingUrl);
  if (kind === "loopback") return { socket, port: target.port };
  // The job resolves Cairn's name to its own loopback, where the forwarder listens (TLS still sees the name).
  const hosts = path.join(path.dirname(socket), "hosts");
  // Written aside and renamed: a sandbox starting meanwhile binds a whole file, old or new.
  const temp = `${hosts}.${process.pid}.tmp`;
  writeFileSync(temp, `127.0.0.1\tlocalhost ${target.host}\n::1\tlocalhost\n`, { mode: 0o644 });
  renameSync(temp, hosts);
  return { socket, port: target.port, hosts };
}

/** A unix socket path may hold 107 bytes (sun_path). */
const SOCKET_PATH_MAX = 107;
const relays = new Map<string, Promise<string>>();

/**
 * The host side of the cairn-only job network, once per process and data dir: a unix socket in a private folder
 * of the data dir (bound into each sandbox) whose every connection is piped to the tracking URL's host:port.
 * Jobs of every uid connect to it (socket 0666; the data dir itself stays 0700 on the host).
 */
function cairnRelay(dataDir: string, trackingUrl: string): Promise<string> {
  const dir = path.join(dataDir, "sandbox");
  const socket = path.join(dir, "cairn.sock");
  const known = relays.get(socket);
  if (known) return known;
  const started = new Promise<string>((resolve, reject) => {
    if (Buffer.byteLength(socket) > SOCKET_PATH_MAX) {
      reject(new Error(`the job network's socket path ${socket} is longer than a unix socket allows: use a shorter CAIRN_DATA_DIR, or CAIRN_JOB_NETWORK=host`));
      return;
    }
    mkdirSync(dir, { recursive: true, mode: 0o711 });
    chmodSync(dir, 0o711);
    try {
      unlinkSync(socket); // left by an earlier server process
    } catch {
      // none
    }
    const target = trackingTarget(trackingUrl);
    const server = net.createServer((job) => {
      const cairn = net.connect(target.port, target.host);
      job.pipe(cairn);
      cairn.pipe(job);
      job.on("error", () => cairn.destroy());
      cairn.on("error", () => job.destroy());
    });
    server.once("error", reject);
    server.listen(socket, () => {
      server.off("error", reject);
      server.on("error", (err) => log.warn("the job network's relay failed", { err }));
      server.unref();
      try {
        chmodSync(socket, 0o666);
      } catch (err) {
        reject(err);
        return;
      }
      resolve(socket);
    });
  });
  relays.set(socket, started);
  started.catch(() => relays.delete(socket));
  return started;
}

/** Hands the tree to the job's uid (isolated mode): it writes its outputs there and nothing else. */
function chownTree(dir: string, uid: number): void {
  lchownSync(dir, uid, uid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(p, uid);
    else lchownSync(p, uid, uid);
  }
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTicks(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces and parentheses: fields after it follow the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** Field 5 of /proc/<pid>/stat: the process group. */
function processGroup(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
  } catch {
    return null;
  }
}

function parseRef(ref: string): { pid: number; ticks: string } | null {
  const m = /^pid:(\d+):(\d+)$/.exec(ref);
  return m ? { pid: Number(m[1]), ticks: m[2]! } : null;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

export class LocalBackend implements ComputeBackend {
  readonly name = "local" as const;
  private readonly live = new Map<string, Live>();
  /** The last CPU reading of each attempt's process tree, for the cores used since. */
  private readonly cpuSeen = new Map<string, { cpuSeconds: number; at: number }>();

  constructor() {
    // Defence in depth beside the sandbox's hidden paths: nobody but the server's user lists or enters the data dir.
    const { dataDir } = env();
    try {
      mkdirSync(dataDir, { recursive: true });
      if (typeof process.getuid === "function" && statSync(dataDir).uid === process.getuid()) chmodSync(dataDir, 0o700);
    } catch (err) {
      log.warn(`could not restrict ${dataDir} to the server's user`, { err });
    }
  }

  async start(spec: LaunchSpec, { onExit }: AttemptHandlers): Promise<{ ref: string }> {
    if (spec.command.length === 0) throw new Error("empty command");
    const config = localSandboxConfig();
    mkdirSync(spec.workdir, { recursive: true });
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    let uid: number | null = null;
    if (runsAsOwnUid(config)) {
      uid = jobUid(config, spec.jobId, new Set([...this.live.values()].map((l) => l.uid).filter((u): u is number => u !== null)));
      chownTree(spec.workdir, uid);
      chmodSync(spec.workdir, 0o700);
    }
    let forward: CairnForward | undefined;
    if (config.network === "cairn-only" && sandboxStatus(config).mode !== "none") {
      forward = await cairnForward(env().dataDir, env().trackingUrl);
    }
    const wrapped = sandboxedCommand(config, { command: spec.command, workdir: spec.workdir, uid: uid ?? -1, forward });
    // Kernel limits as a pod's: the memory and cores the job asked for, and a process limit.
    const limits = { cpu: Math.max(spec.resources.cpu, 0.01), memoryBytes: spec.resources.memoryGib * 2 ** 30, pids: JOB_PIDS };
    const cgroup: JobCgroup | null = env().jobSandbox.cgroups === "off" ? null : createJobCgroup(`${spec.jobId}-${spec.attempt}`, limits);
    const argv = cgroup ? joinCgroupsCommand(cgroup, wrapped.argv) : wrapped.argv;
    let fd: number;
    try {
      fd = openSync(spec.logFile, "a");
    } catch (err) {
      cgroup?.remove();
      throw err;
    }
    let child: ChildProcess;
    try {
      writeSync(fd, `\n=== attempt ${spec.attempt} started ${new Date().toISOString()}: ${spec.command.join(" ")}\n`);
      writeSync(fd, `=== sandbox: ${wrapped.mode}${uid !== null ? ` (uid ${uid})` : ""}\n`);
      writeSync(fd, `=== limits: ${cgroup ? `${limits.cpu} CPU, ${spec.resources.memoryGib} GiB memory, ${JOB_PIDS} processes (cgroup v${cgroupSupport().version})` : `none from the kernel (${env().jobSandbox.cgroups === "off" ? "CAIRN_JOB_CGROUPS=off" : cgroupReason()})`}\n`);
      child = spawn(argv[0]!, argv.slice(1), { cwd: spec.workdir, env: (wrapped.mode === "none" ? spec.env : sandboxEnv(spec.env)) as NodeJS.ProcessEnv, detached: true, stdio: ["ignore", fd, fd] });
    } catch (err) {
      // spawn throws synchronously for some refusals (E2BIG: arguments and environment too large): no process,
      // so no exit event to remove the cgroup.
      cgroup?.remove();
      throw err;
    } finally {
      closeSync(fd);
    }
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid!));
      child.once("error", (err) => {
        cgroup?.remove();
        reject(err);
      });
    });
    const ref = `pid:${pid}:${startTicks(pid) ?? "0"}`;
    const entry: Live = { pid, uid };
    this.live.set(ref, entry);
    if (spec.maxRuntimeSeconds > 0) {
      entry.timer = setTimeout(() => this.stop(ref, "timeout"), spec.maxRuntimeSeconds * 1000);
      entry.timer.unref();
    }
    child.once("exit", (code, signal) => {
      clearTimeout(entry.timer);
      clearTimeout(entry.killTimer);
      this.live.delete(ref);
      this.cpuSeen.delete(ref);
      // The leader is gone; make sure nothing it started lingers in the group.
      signalGroup(pid, "SIGKILL");
      try {
        const tail = openSync(spec.logFile, "a");
        writeSync(tail, `=== attempt ${spec.attempt} ended ${new Date().toISOString()}: ${entry.reason ?? (signal ? `signal ${signal}` : `exit code ${code}`)}\n`);
        closeSync(tail);
      } catch {
        // the log is best effort
      }
      const oomKilled = cgroup !== null && cgroup.oomKills() > 0;
      cgroup?.remove();
      onExit({ exitCode: code, signal, ...(entry.reason ? { reason: entry.reason } : {}), ...(oomKilled ? { oomKilled } : {}) });
    });
    return { ref };
  }

  private stop(ref: string, reason: "cancelled" | "timeout"): void {
    const entry = this.live.get(ref);
    if (!entry) return;
    entry.reason ??= reason;
    signalGroup(entry.pid, "SIGTERM");
    entry.killTimer = setTimeout(() => signalGroup(entry.pid, "SIGKILL"), GRACE_MS);
    entry.killTimer.unref();
  }

  async cancel(ref: string): Promise<void> {
    if (this.live.has(ref)) return this.stop(ref, "cancelled");
    await this.kill(ref);
  }

  /**
   * The attempt's process group, found by the job id and attempt every attempt's environment carries
   * (CAIRN_JOB_ID, CAIRN_JOB_ATTEMPT): the group leader this executor spawned, even when the server died
   * before recording its handle. Other users' processes are readable here only when the server runs as root,
   * which is also when jobs run as their own uids.
   */
  async locate(at: { jobId: string; attempt: number }): Promise<string | null> {
    const wanted = [`CAIRN_JOB_ID=${at.jobId}`, `CAIRN_JOB_ATTEMPT=${at.attempt}`];
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const pid = Number(entry);
      let environ: string;
      try {
        environ = readFileSync(`/proc/${pid}/environ`, "latin1");
      } catch {
        continue;
      }
      const vars = environ.split("\0");
      if (!wanted.every((w) => vars.includes(w))) continue;
      // The group leader (spawned detached): the process a handle names and a group kill reaches from.
      if (processGroup(pid) !== pid) continue;
      const ticks = startTicks(pid);
      if (ticks) return `pid:${pid}:${ticks}`;
    }
    return null;
  }

  /** The attempt's whole process tree from /proc: CPU since the last reading (the first: since it started), resident memory. */
  async usage(ref: string): Promise<ResourceUsage | null> {
    const parsed = parseRef(ref);
    if (!parsed) return null;
    const at = uptimeSeconds();
    const now = processTreeUsage(parsed.pid, parsed.ticks);
    if (!now) {
      this.cpuSeen.delete(ref);
      return null;
    }
    const cpuCores = coresBetween(this.cpuSeen.get(ref) ?? null, now, at);
    this.cpuSeen.set(ref, { cpuSeconds: now.cpuSeconds, at });
    return { source: "process", cpuCores, memoryBytes: now.memoryBytes };
  }

  async isAlive(ref: string): Promise<boolean> {
    const parsed = parseRef(ref);
    if (!parsed) return false;
    const ticks = startTicks(parsed.pid);
    return ticks !== null && ticks === parsed.ticks;
  }

  async kill(ref: string): Promise<void> {
    const parsed = parseRef(ref);
    if (!parsed || !(await this.isAlive(ref))) return;
    signalGroup(parsed.pid, "SIGTERM");
    const deadline = Date.now() + GRACE_MS;
    while (Date.now() < deadline && (await this.isAlive(ref))) await new Promise((r) => setTimeout(r, 100));
    signalGroup(parsed.pid, "SIGKILL");
    while (await this.isAlive(ref)) await new Promise((r) => setTimeout(r, 50));
  }
}

/** Processes one job may have at once (the cgroup's pids.max). */
const JOB_PIDS = 4096;

function cgroupReason(): string {
  const support = cgroupSupport();
  return support.version === null ? support.reason : "";
}
