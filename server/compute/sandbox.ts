// The local executor's job sandbox. A job is a data scientist's code: on the local backend it must not see what
// the server sees. Three levels, the best this host allows (CAIRN_JOB_SANDBOX=auto) unless configured:
//
// - "isolated": the server runs as root and bubblewrap works. Each job runs as its own unprivileged uid
//   (setpriv, no supplementary groups), inside bwrap's user, mount, pid, ipc and uts namespaces with no way to
//   make new user namespaces, in a root built from an allow-list: the system's programs and libraries
//   read-only, its own /tmp, then only its own working directory bound writable and a read-only runtime (the
//   Node packages the examples need) — nothing of the repository, the data dir, /root, /home or /var. It sees
//   only its own processes, so no /proc/<server pid>/environ.
// - "namespaces": the server is not root (a laptop) and bubblewrap works: the same namespaces and file system
//   view (the user's home masked should it lie in a system folder), but the job keeps the server's uid.
// - "none": no bubblewrap: the job is a plain child process of the server's user (README, admin console).
//
// Network (CAIRN_JOB_NETWORK): "cairn-only" (default) gives sandboxed jobs a network namespace of their own
// (only their loopback), where ./sandbox-forwarder.mjs listens on the tracking URL's port and pipes each
// connection through a unix socket bound into the sandbox to the server's relay (./local.ts), which connects to
// Cairn's API. So a job reaches Cairn and nothing else: no loopback services (Prometheus, PostgreSQL), no
// squatting on Cairn's port. "host" shares the host's network, as jobs that download things need.
import { spawnSync } from "node:child_process";
import { chownSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync } from "node:fs";
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
    "Jobs run as their own unprivileged uid in a bubblewrap sandbox that sees only the system's programs and libraries (/usr and what of /etc the loader, name resolution and TLS need, read-only), the job runtime, its own working directory and scratch /tmp — nothing else of the host (no data dir, repository, /root, /home, /var, /srv, /mnt) and no other process; at most 4,096 processes each.",
  namespaces:
    "Jobs run in a bubblewrap sandbox that sees only the system's programs and libraries (/usr and what of /etc the loader, name resolution and TLS need, read-only), the job runtime, its own working directory and scratch /tmp (no data dir, repository, home directory or other process) but as the server's own user, because the server is not root.",
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
/**
 * The file system a job sees is built from an allow-list, not the host's root with holes in it: the system's
 * programs and libraries read-only (merged-/usr symlinks kept as symlinks), its own scratch /tmp and /var/tmp,
 * /dev and its own /proc — and nothing else of the host (no /root, /home, /srv, /var, /run, /mnt, no sibling
 * folders of the repository), then bound in one by one: the runtime, the working directory, the forwarder.
 */
const SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/**
 * What of /etc a job sees: what the loader, name resolution, TLS, time zones, locales and the runtimes need.
 * Not the rest (service configurations, systemd units, /etc/default files an operator may have left readable
 * with a secret in them).
 */
export const ETC_ALLOWED = [
  "alternatives", "ca-certificates", "ca-certificates.conf", "debian_version", "fonts", "gai.conf", "group", "host.conf", "hosts",
  "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "locale.alias", "locale.conf", "localtime", "matplotlibrc", "mime.types", "nsswitch.conf",
  "os-release", "passwd", "pki", "protocols", "python3", "python3.11", "python3.12", "resolv.conf", "services", "ssl", "timezone",
];
const SCRATCH_DIRS = ["/tmp", "/var/tmp"];

function under(p: string, roots: string[]): boolean {
  return roots.some((r) => p === r || p.startsWith(r + path.sep));
}

function wrap({ bwrap, setpriv, config: given, mode, uid, workdir: givenWorkdir, command, forward }: WrapInput): string[] {
  // Real paths: a bind of a symlink binds what it points to, and a mask over a symlink would hide only the link.
  const config = { ...given, repoDir: real(given.repoDir), dataDir: real(given.dataDir) };
  const workdir = real(givenWorkdir);
  const isolated = mode === "isolated" && setpriv !== null;
  const args = [
    ...(isolated ? ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] : ["--unshare-user", "--disable-userns"]),
    "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "cairn-job",
    ...(given.network === "cairn-only" ? ["--unshare-net"] : []),
  ];
  const system: string[] = [];
  for (const p of SYSTEM) {
    let link: string | null = null;
    try {
      link = lstatSync(p).isSymbolicLink() ? readlinkSync(p) : null;
    } catch {
      continue; // not on this host
    }
    if (link !== null) args.push("--symlink", link, p);
    else {
      args.push("--ro-bind", p, p);
      system.push(p);
    }
  }
  args.push("--perms", "0755", "--dir", "/etc");
  for (const name of ETC_ALLOWED) {
    const p = path.join("/etc", name);
    if (existsSync(p)) args.push("--ro-bind", p, p);
  }
  args.push("--dev", "/dev", "--proc", "/proc");
  // Scratch space: the job's own, sticky, 256 MiB of memory each (larger temporary files belong in the working directory).
  args.push("--perms", "0755", "--dir", "/var");
  for (const p of SCRATCH_DIRS) args.push("--perms", "1777", "--size", String(256 << 20), "--tmpfs", p);
  // Should the repository, the data dir (or, as the server's own user, its home) lie inside a system folder
  // (/usr/local/cairn, say), they are masked with an empty tmpfs there.
  const secret = [config.repoDir, config.dataDir, ...(mode === "namespaces" ? [os.homedir()] : [])];
  const masks = secret.filter((p) => p !== "/" && under(p, system) && existsSync(p)).sort((a, b) => a.length - b.length);
  for (const p of masks) args.push("--perms", "0755", "--size", String(16 << 20), "--tmpfs", p);
  const binds = bindBack(config, system, masks);
  // cairn-only: the relay's socket (under the data dir) and the forwarder (in the repository), at their own
  // paths. The socket's folder is bound rather than the socket, so a job that outlives a server restart
  // reaches the new server's socket. Bound read-only, the job can still connect (that needs write on the socket
  // inode, which the mount flag does not govern), but not replace it.
  const script = forward && given.network === "cairn-only" ? real(forwarderScript(config.repoDir)) : null;
  const socket = script && forward ? real(forward.socket) : null;
  const files = script && socket ? [script, path.dirname(socket)] : [];
  // The folders leading to each bind are made traversable (bwrap would make them 0700, closed to the job's uid).
  for (const dir of ancestorsOutside([...binds, ...files, workdir], system, masks)) args.push("--perms", "0755", "--dir", dir);
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

/**
 * The folders a bind needs made in the sandbox's own root, parents first: every ancestor of each target that is
 * not already there — outside the system folders, or inside a mask.
 */
function ancestorsOutside(targets: string[], system: string[], masks: string[]): string[] {
  const dirs = new Set<string>();
  for (const target of targets) {
    for (let dir = path.dirname(target); dir !== "/" && dir !== "."; dir = path.dirname(dir)) {
      const masked = masks.some((m) => dir.startsWith(m + path.sep));
      if (!masked && under(dir, system)) break;
      if (masks.includes(dir)) break;
      if (dir === "/var" || SCRATCH_DIRS.includes(dir)) continue; // made above, with their own permissions
      dirs.add(dir);
    }
  }
  return [...dirs].sort((a, b) => a.length - b.length);
}

/** What a job needs from outside the system folders (or from under a mask): the runtime packages and, when it lives there, Node itself. */
function bindBack(config: SandboxConfig, system: string[], masks: string[]): string[] {
  const needed = (p: string) => !under(p, system) || under(p, masks);
  const dirs = runtimePackageDirs(path.join(config.repoDir, "node_modules"), config.runtimePackages);
  const nodePrefix = path.dirname(path.dirname(realpathSync(process.execPath)));
  if (needed(nodePrefix)) dirs.unshift(nodePrefix);
  return dirs.filter(needed);
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
