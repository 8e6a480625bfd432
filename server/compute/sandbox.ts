// The local executor's job sandbox. A job is a data scientist's code: on the local backend it must not see what
// the server sees. Three levels, the best this host allows (CAIRN_JOB_SANDBOX=auto) unless configured:
//
// - "isolated": the server runs as root and bubblewrap works. Each job runs as its own unprivileged uid
//   (setpriv, no supplementary groups), inside bwrap's user, mount, pid, ipc and uts namespaces with no way to
//   make new user namespaces: the host's file system read-only, the repository (node_modules, .env, .next),
//   the data dir, /root, /home and /tmp replaced by empty tmpfs, then only its own working directory bound
//   writable and a read-only runtime (the Node packages the examples need) bound back. It sees only its own
//   processes, so no /proc/<server pid>/environ.
// - "namespaces": the server is not root (a laptop) and bubblewrap works: the same namespaces and hidden paths
//   (the user's home too), but the job keeps the server's uid, so what isolation it has is the mount view.
// - "none": no bubblewrap: the job is a plain child process of the server's user (README, admin console).
//
// Network (CAIRN_JOB_NETWORK): "cairn-only" (default) gives sandboxed jobs a network namespace of their own
// (only their loopback), where ./sandbox-forwarder.mjs listens on the tracking URL's port and pipes each
// connection through a unix socket bound into the sandbox to the server's relay (./local.ts), which connects to
// Cairn's API. So a job reaches Cairn and nothing else: no loopback services (Prometheus, PostgreSQL), no
// squatting on Cairn's port. "host" shares the host's network, as jobs that download things need.
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export type SandboxMode = "isolated" | "namespaces" | "none";
export type SandboxSetting = "auto" | "required" | "off";
export type JobNetwork = "cairn-only" | "host";

export type SandboxStatus = {
  mode: SandboxMode;
  /** What a job can and cannot reach in this mode, in words for the admin console and the job's log. */
  detail: string;
  /** Why a stronger mode is not in use (missing binary, not root, user namespaces refused...), if it is not. */
  limitation: string | null;
};

export type SandboxConfig = {
  setting: SandboxSetting;
  /** First uid of the range jobs run as (isolated mode); a job's uid is base + a slot in [0, count). */
  uidBase: number;
  uidCount: number;
  /** The repository (process.cwd()) and the data dir: hidden from jobs. */
  repoDir: string;
  dataDir: string;
  /** Directories to look for bwrap and setpriv in. */
  pathDirs: string[];
  /** Node packages (and their dependencies) a job may load, bound read-only at <repo>/node_modules/<name>. */
  runtimePackages: string[];
  /** CAIRN_JOB_NETWORK: "cairn-only" unshares the network in the sandboxed modes; "host" shares the host's. */
  network: JobNetwork;
};

/**
 * How a cairn-only job reaches Cairn: the relay's unix socket and the port the job's tracking URL names; `hosts`,
 * when that URL names Cairn by a hostname, is a hosts file that resolves it to the job's own loopback. Without
 * one (the probe, a direct call) a cairn-only sandbox has no network at all.
 */
export type CairnForward = { socket: string; port: number; hosts?: string };

/** The forwarder started inside the sandbox in front of the job's command (cairn-only network). */
export function forwarderScript(repoDir: string): string {
  return path.join(repoDir, "server", "compute", "sandbox-forwarder.mjs");
}

/** `broken`: bubblewrap is installed but failed its probe, so jobs are refused rather than silently unsandboxed. */
type Probe = { status: SandboxStatus; bwrap: string | null; setpriv: string | null; broken?: boolean };

const probes = new Map<string, Probe>();

function which(name: string, dirs: string[]): string | null {
  for (const dir of [...dirs, "/usr/bin", "/bin", "/usr/local/bin"]) {
    const candidate = path.join(dir, name);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

const NETWORK: Record<JobNetwork, string> = {
  "cairn-only": " Their network is their own: they reach Cairn's API (their MLFLOW_TRACKING_URI) and nothing else, neither the internet nor services on this host (CAIRN_JOB_NETWORK=cairn-only).",
  host: " They share the host's network, loopback services included (CAIRN_JOB_NETWORK=host).",
};

const DETAIL: Record<SandboxMode, string> = {
  isolated:
    "Jobs run as their own unprivileged uid in a bubblewrap sandbox: read-only host file system, their own working directory, no view of the data dir, the repository, /root, /home, /var/lib, /var/log or any other process, at most 4,096 processes each.",
  namespaces:
    "Jobs run in a bubblewrap sandbox (read-only host file system, their own working directory, no view of the data dir, the repository, your home directory, /tmp or other processes) but as the server's own user, because the server is not root.",
  none:
    "Jobs are NOT sandboxed: they run as the server's user with its file access (the data dir, the auth secret, the database files, other teams' artifacts). Install bubblewrap (Debian: apt-get install bubblewrap) and restart Cairn.",
};

/** What the sandbox can be on this host with this configuration. Probed once (it runs bwrap) and cached. */
export function sandboxStatus(config: SandboxConfig): SandboxStatus {
  return probe(config).status;
}

function probe(config: SandboxConfig): Probe {
  const key = JSON.stringify(config);
  const known = probes.get(key);
  if (known) return known;
  const result = runProbe(config);
  probes.set(key, result);
  return result;
}

function runProbe(config: SandboxConfig): Probe {
  if (config.setting === "off") {
    return { status: { mode: "none", detail: DETAIL.none, limitation: "CAIRN_JOB_SANDBOX=off" }, bwrap: null, setpriv: null };
  }
  const bwrap = which("bwrap", config.pathDirs);
  if (!bwrap) {
    return { status: { mode: "none", detail: DETAIL.none, limitation: "bubblewrap (bwrap) is not installed" }, bwrap: null, setpriv: null };
  }
  const setpriv = isRoot() ? which("setpriv", config.pathDirs) : null;
  const scratch = mkdtempSync(path.join(os.tmpdir(), "cairn-sandbox-probe-"));
  try {
    const wanted: SandboxMode = setpriv ? "isolated" : "namespaces";
    const uid = config.uidBase;
    if (wanted === "isolated") chownSync(scratch, uid, uid);
    // The probe must find the job's uid, not root: a file it creates belongs to whoever it ran as.
    const argv = wrap({ bwrap, setpriv, config, mode: wanted, uid, workdir: scratch, command: ["/bin/sh", "-c", "touch probe"] });
    const tried = spawnSync(argv[0]!, argv.slice(1), { cwd: "/", timeout: 10_000, encoding: "utf8" });
    const made = path.join(scratch, "probe");
    if (tried.status === 0 && existsSync(made) && (wanted !== "isolated" || statSync(made).uid === uid)) {
      const limitation = wanted === "isolated" ? null : isRoot() ? "setpriv is not installed: jobs keep the server's uid" : "the server does not run as root: jobs keep the server's uid";
      return { status: { mode: wanted, detail: DETAIL[wanted] + NETWORK[config.network], limitation }, bwrap, setpriv };
    }
    const why = (String(tried.stderr ?? "") || tried.error?.message || `exit ${tried.status}`).trim().split("\n")[0];
    const limitation = `bubblewrap is installed but does not work here (${why}); jobs are refused until it does, or until CAIRN_JOB_SANDBOX=off accepts running them unsandboxed${config.network === "cairn-only" ? " (if only the network namespace is refused here, CAIRN_JOB_NETWORK=host shares the host's network instead)" : ""}`;
    return { status: { mode: "none", detail: DETAIL.none, limitation }, bwrap: null, setpriv: null, broken: config.setting === "auto" };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The job's command wrapped in the sandbox, or as it is when there is none. Throws when one is required. */
export function sandboxedCommand(config: SandboxConfig, input: { command: string[]; workdir: string; uid: number; forward?: CairnForward }): { argv: string[]; mode: SandboxMode } {
  const { status, bwrap, setpriv, broken } = probe(config);
  if (status.mode === "none") {
    if (config.setting === "required") throw new Error(`the job sandbox is required (CAIRN_JOB_SANDBOX=required) but unavailable: ${status.limitation}`);
    if (broken) throw new Error(`the job sandbox is unavailable: ${status.limitation}`);
    return { argv: input.command, mode: "none" };
  }
  return { argv: wrap({ bwrap: bwrap!, setpriv, config, mode: status.mode, uid: input.uid, workdir: input.workdir, command: input.command, forward: input.forward }), mode: status.mode };
}

/** The uid a job runs as (isolated mode): stable per job, spread over the configured range. */
export function jobUid(config: SandboxConfig, jobId: string, takenHere: ReadonlySet<number>): number {
  // Uids in use on the host too: jobs recovered after a restart are not in this process's live set.
  const taken = new Set([...takenHere, ...hostUidsFrom(config.uidBase, config.uidBase + config.uidCount)]);
  let h = 0x811c9dc5;
  for (const ch of jobId) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  for (let i = 0; i < config.uidCount; i++) {
    const uid = config.uidBase + ((h + i) % config.uidCount);
    if (!taken.has(uid)) return uid;
  }
  return config.uidBase + (h % config.uidCount);
}

function hostUidsFrom(from: number, to: number): number[] {
  const uids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${name}/status`, "utf8"))?.[1]);
      if (uid >= from && uid < to) uids.push(uid);
    } catch {
      // gone meanwhile
    }
  }
  return uids;
}

/** True when the job's files must belong to its own uid (isolated mode). */
export function runsAsOwnUid(config: SandboxConfig): boolean {
  return probe(config).status.mode === "isolated";
}

/** `forward` is absent in the probe: its network is unshared (when cairn-only) but it talks to nobody. */
type WrapInput = { bwrap: string; setpriv: string | null; config: SandboxConfig; mode: Exclude<SandboxMode, "none">; uid: number; workdir: string; command: string[]; forward?: CairnForward };

/**
 * Isolated mode runs bwrap as root (so it can bind paths the job's uid could not even traverse, such as a
 * repository under /root) with only CAP_SETUID/CAP_SETGID kept, and setpriv inside drops to the job's uid with
 * no groups, no capabilities and no_new_privs before the job's command starts. Namespaces mode runs bwrap as
 * the server's user, in a new user namespace that may not make further ones.
 */
/** Besides the repository and the data dir: where hosts keep other people's files, logs and services' state. */
const HIDDEN = ["/tmp", "/var/tmp", "/root", "/home", "/mnt", "/media", "/srv", "/var/lib", "/var/log", "/var/backups", "/var/mail", "/var/spool"];

function wrap({ bwrap, setpriv, config: given, mode, uid, workdir: givenWorkdir, command, forward }: WrapInput): string[] {
  // Real paths: a tmpfs over a symlink hides the link, not what it points to (a data dir on another volume).
  const config = { ...given, repoDir: real(given.repoDir), dataDir: real(given.dataDir) };
  const workdir = real(givenWorkdir);
  const hidden = new Set<string>([...HIDDEN, config.repoDir, config.dataDir]);
  if (mode === "namespaces") {
    hidden.add(os.homedir());
    if (typeof process.getuid === "function") hidden.add(`/run/user/${process.getuid()}`);
  }
  // Parents before children, so a later tmpfs lands inside an earlier one rather than under it.
  const mounts = [...hidden].filter((p) => p && p !== "/" && existsSync(p)).sort((a, b) => a.length - b.length);
  const isolated = mode === "isolated" && setpriv !== null;
  const args = [
    ...(isolated ? ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] : ["--unshare-user", "--disable-userns"]),
    "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "cairn-job",
    ...(given.network === "cairn-only" ? ["--unshare-net"] : []),
    "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
  ];
  // Scratch space (/tmp, /var/tmp: the job's own, sticky, 256 MiB of memory each; larger temporary files belong in
  // the working directory); the other hidden folders only hold mount points.
  for (const p of mounts) args.push("--perms", SCRATCH.has(p) ? "1777" : "0755", "--size", String(SCRATCH.has(p) ? 256 << 20 : 16 << 20), "--tmpfs", p);
  const binds = bindBack(config, mounts);
  // cairn-only: the relay's socket (under the hidden data dir) and the forwarder (in the hidden repository), at
  // their own paths. The socket's folder is bound rather than the socket, so a job that outlives a server restart
  // reaches the new server's socket. Bound read-only, the job can still connect (that needs write on the socket
  // inode, which the mount flag does not govern), but not replace it.
  const script = forward && given.network === "cairn-only" ? real(forwarderScript(config.repoDir)) : null;
  const socket = script && forward ? real(forward.socket) : null;
  const files = script && socket ? [script, path.dirname(socket)] : [];
  // The folders leading to a bind inside a tmpfs must be traversable by the job's uid (bwrap makes them 0700).
  for (const dir of ancestorsInside([...binds, ...files, workdir], mounts)) args.push("--perms", "0755", "--dir", dir);
  for (const dir of [...binds, ...files]) args.push("--ro-bind", dir, dir);
  if (script && forward?.hosts) args.push("--ro-bind", forward.hosts, "/etc/hosts");
  args.push("--bind", workdir, workdir, "--chdir", workdir, "--");
  if (isolated) {
    // RLIMIT_NPROC counts per uid, and the uid is the job's own: a fork bomb stops at its own limit.
    args.push("/usr/bin/prlimit", `--nproc=${NPROC}:${NPROC}`, "--core=0:0", "--");
    args.push(setpriv, `--reuid=${uid}`, `--regid=${uid}`, "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--");
  }
  // The forwarder runs as the job (after setpriv), with the sandbox's node.
  if (script && socket && forward) args.push(process.execPath, script, socket, String(forward.port), "--");
  return [bwrap, ...args, ...command];
}

const SCRATCH = new Set(["/tmp", "/var/tmp"]);
const NPROC = 4096;

function real(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return path.resolve(p);
  }
}

/**
 * Variables the dynamic loader and libc act on. bwrap and setpriv run as root before the job's uid takes over,
 * and they are not setuid, so glibc's secure mode would not strip these: a job's LD_AUDIT would run its code as
 * root. They never reach the sandbox's root stages (and the job schema refuses them).
 */
export const LOADER_ENV = /^(LD_|GCONV_PATH$|GETCONF_DIR$|HOSTALIASES$|LOCALDOMAIN$|LOCPATH$|MALLOC_TRACE$|NIS_PATH$|NLSPATH$|RESOLV_HOST_CONF$|RES_OPTIONS$|TZDIR$|GLIBC_TUNABLES$)/;

/** The job's environment with the loader's variables removed. */
export function sandboxEnv(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter(([k]) => !LOADER_ENV.test(k)));
}

/** Every folder strictly between a hidden mount and a path bound under it, parents first. */
function ancestorsInside(targets: string[], mounts: string[]): string[] {
  const dirs = new Set<string>();
  for (const target of targets) {
    const mount = mounts.filter((m) => target.startsWith(m + path.sep)).sort((a, b) => b.length - a.length)[0];
    if (!mount) continue;
    for (let dir = path.dirname(target); dir.length > mount.length; dir = path.dirname(dir)) dirs.add(dir);
  }
  return [...dirs].sort((a, b) => a.length - b.length);
}

/** What must stay visible under a hidden path: the runtime packages and, when it lives there, Node itself. */
function bindBack(config: SandboxConfig, hidden: string[]): string[] {
  const under = (p: string) => hidden.some((h) => p === h || p.startsWith(h + path.sep));
  const dirs = runtimePackageDirs(path.join(config.repoDir, "node_modules"), config.runtimePackages);
  const nodePrefix = path.dirname(path.dirname(realpathSync(process.execPath)));
  if (under(nodePrefix)) dirs.unshift(nodePrefix);
  return dirs.filter(under);
}

/** The package folders of `names` and everything they depend on (npm's flat node_modules, nested ones included). */
export function runtimePackageDirs(nodeModules: string, names: string[]): string[] {
  const seen = new Set<string>();
  const queue = [...names];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (seen.has(name)) continue;
    const dir = path.join(nodeModules, name);
    if (!existsSync(path.join(dir, "package.json"))) continue;
    seen.add(name);
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
      queue.push(...Object.keys(manifest.dependencies ?? {}));
    } catch {
      // an unreadable manifest: the package is bound without its dependencies
    }
  }
  return [...seen].sort().map((name) => path.join(nodeModules, name));
}
