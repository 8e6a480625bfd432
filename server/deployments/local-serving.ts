// The local replica manager: each replica of a deployment is a model-server.mjs child process in its own
// process group, serving on 127.0.0.1. A replica that dies after it served is restarted with backoff;
// one that keeps dying is marked failed. The caller makes one LocalServing per process and follows
// status changes through `onChange`.
//
//   ensure(spec)  start or scale a deployment; resolves when every replica serves, rejects (stopping
//                 what it started) when one cannot. A new model or version is started beside the old
//                 replicas and swapped in once ready, so a deployment keeps serving through the change.
//   scale(id, n)  change a running deployment's replica count: new replicas take requests only once they
//                 serve; a replica taken away leaves routing at once and ends after its in-flight requests
//   acquire(id)   the least busy serving replica, held until `release()`: the in-flight count per replica
//                 (and its time integral, `load(id)`) is what autoscaling reads
//   pick(id)      a serving replica's base URL, round-robin (not counted as in flight)
//   state(id)     a snapshot of the replicas
//   stop(id), stopAll()
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { log } from "../observability/log";

/** The header a replica checks for the manager's secret. */
export const SECRET_HEADER = "x-cairn-replica-secret";

export type ServingSpec = { deploymentId: string; modelName: string; version: number; modelPath: string; replicas: number };
export type ReplicaStatus = "starting" | "ready" | "restarting" | "failed" | "stopped";
export type ReplicaState = { index: number; pid: number | null; port: number | null; status: ReplicaStatus; restarts: number; startedAt: Date | null; message: string | null };
export type ServingState = { deploymentId: string; replicas: ReplicaState[]; ready: number; desired: number };
/** A replica chosen for one request; `release()` (idempotent) when its answer has been read. */
export type ReplicaLease = { url: string; port: number; release: () => void };
/**
 * Requests in flight for a deployment now, and their integral over time (request·milliseconds since the
 * deployment was registered, on the monotonic clock `at`): two readings give the mean in flight between them.
 */
export type ServingLoad = { inflight: number; inflightMs: number; at: number; ready: number; desired: number };

export type LocalServingOptions = {
  /** model-server.mjs; defaults to the one in this checkout. */
  serverScript?: string;
  /** How long a replica may take to load its model and listen. */
  startTimeoutMs?: number;
  /** Restarts allowed within RESTART_WINDOW_MS before a replica is failed. */
  maxRestarts?: number;
  onChange?: (state: ServingState) => void;
  nodeBinary?: string;
  /** The replicas' shared secret (default: random per instance); at least 16 characters. */
  secret?: string;
};

const GRACE_MS = 5_000;
const RESTART_WINDOW_MS = 60_000;
const BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 4_000;
const STDERR_TAIL = 4_096;
const MAX_REPLICAS = 64;
/** How long a replica taken away waits for its in-flight requests (the gateway gives up on a replica after 30 s). */
const DRAIN_TIMEOUT_MS = 35_000;

/** One child process; a replica has a new one after each restart. */
type Proc = { child: ChildProcess; pid: number; isReady: boolean; hasExited: boolean; exited: Promise<void>; stderr: string };

type Replica = {
  index: number;
  proc: Proc | null;
  port: number | null;
  status: ReplicaStatus;
  restarts: number;
  startedAt: Date | null;
  message: string | null;
  /** Crash times within the restart window. */
  crashes: number[];
  isStopping: boolean;
  /** The start in flight (first start or restart). */
  launching: Promise<void> | null;
  restartTimer?: NodeJS.Timeout;
  /** Requests the gateway holds on this replica right now. */
  inflight: number;
  /** Set while a replica taken away waits for its in-flight requests. */
  onDrained: (() => void) | null;
};

type Load = { inflight: number; area: number; at: number };
type Deployment = { spec: ServingSpec; replicas: Replica[]; next: number; load: Load };

const newLoad = (): Load => ({ inflight: 0, area: 0, at: performance.now() });

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

function tail(text: string): string {
  const t = text.trim();
  return t ? `: ${t}` : "";
}

export class LocalServing {
  private readonly serverScript: string;
  private readonly nodeBinary: string;
  private readonly startTimeoutMs: number;
  private readonly maxRestarts: number;
  private readonly onChange?: (state: ServingState) => void;
  private readonly deployments = new Map<string, Deployment>();
  /** Operations on one deployment run one after another, so concurrent ensure/stop calls never interleave. */
  private readonly queues = new Map<string, Promise<void>>();
  /** Every child still running, whether or not it belongs to a registered deployment. */
  private readonly live = new Set<Proc>();
  private isExitHooked = false;

  /** Sent to every replica on stdin; callers put it in SECRET_HEADER, so other local processes cannot use a replica directly. */
  readonly secret: string;

  constructor(opts: LocalServingOptions = {}) {
    this.serverScript = opts.serverScript ?? path.join(/*turbopackIgnore: true*/ process.cwd(), "server", "deployments", "model-server.mjs");
    this.nodeBinary = opts.nodeBinary ?? process.execPath;
    this.startTimeoutMs = opts.startTimeoutMs ?? 30_000;
    this.maxRestarts = opts.maxRestarts ?? 5;
    this.onChange = opts.onChange;
    this.secret = opts.secret ?? randomBytes(24).toString("base64url");
  }

  ensure(spec: ServingSpec): Promise<ServingState> {
    if (!Number.isInteger(spec.replicas) || spec.replicas < 0 || spec.replicas > MAX_REPLICAS) {
      return Promise.reject(new Error(`replicas must be a whole number from 0 to ${MAX_REPLICAS}, got ${spec.replicas}`));
    }
    return this.serial(spec.deploymentId, () => this.reconcile({ ...spec }));
  }

  /** Changes a running deployment's replica count (null: this manager does not run it). */
  scale(deploymentId: string, replicas: number): Promise<ServingState | null> {
    if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) {
      return Promise.reject(new Error(`replicas must be a whole number from 0 to ${MAX_REPLICAS}, got ${replicas}`));
    }
    return this.serial(deploymentId, async () => {
      const dep = this.deployments.get(deploymentId);
      return dep ? this.reconcile({ ...dep.spec, replicas }) : null;
    });
  }

  acquire(deploymentId: string): ReplicaLease | null {
    const dep = this.deployments.get(deploymentId);
    if (!dep) return null;
    const n = dep.replicas.length;
    let chosen: Replica | null = null;
    let at = 0;
    // The least busy serving replica; ties go round-robin, so an idle deployment spreads its requests too.
    for (let i = 0; i < n; i++) {
      const r = dep.replicas[(dep.next + i) % n]!;
      if (r.status !== "ready" || r.isStopping || r.port === null) continue;
      if (!chosen || r.inflight < chosen.inflight) {
        chosen = r;
        at = (dep.next + i) % n;
      }
    }
    if (!chosen) return null;
    dep.next = (at + 1) % n;
    const r = chosen;
    const port = r.port!;
    r.inflight += 1;
    account(dep.load, +1);
    let isReleased = false;
    return {
      url: `http://127.0.0.1:${port}`,
      port,
      release: () => {
        if (isReleased) return;
        isReleased = true;
        r.inflight -= 1;
        account(dep.load, -1);
        if (r.inflight === 0) r.onDrained?.();
      },
    };
  }

  load(deploymentId: string): ServingLoad | null {
    const dep = this.deployments.get(deploymentId);
    if (!dep) return null;
    account(dep.load, 0);
    const snap = this.snapshot(dep);
    return { inflight: dep.load.inflight, inflightMs: dep.load.area, at: dep.load.at, ready: snap.ready, desired: snap.desired };
  }

  pick(deploymentId: string): string | null {
    const dep = this.deployments.get(deploymentId);
    if (!dep) return null;
    const n = dep.replicas.length;
    for (let i = 0; i < n; i++) {
      const r = dep.replicas[(dep.next + i) % n]!;
      if (r.status === "ready" && !r.isStopping) {
        dep.next = (dep.next + i + 1) % n;
        return `http://127.0.0.1:${r.port}`;
      }
    }
    return null;
  }

  /** Whether a replica of the deployment serves (one pick would return), without moving the round-robin. */
  serves(deploymentId: string): boolean {
    const dep = this.deployments.get(deploymentId);
    if (!dep) return false;
    for (const r of dep.replicas) if (r.status === "ready" && !r.isStopping) return true;
    return false;
  }

  /** The deployments this manager runs replicas for. */
  ids(): string[] {
    return [...this.deployments.keys()];
  }

  state(deploymentId: string): ServingState | null {
    const dep = this.deployments.get(deploymentId);
    return dep ? this.snapshot(dep) : null;
  }

  stop(deploymentId: string): Promise<void> {
    return this.serial(deploymentId, async () => {
      const dep = this.deployments.get(deploymentId);
      if (!dep) return;
      await Promise.all(dep.replicas.map((r) => this.stopReplica(dep, r)));
      this.deployments.delete(deploymentId);
    });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.deployments.keys()].map((id) => this.stop(id)));
    if (this.live.size === 0 && this.isExitHooked) {
      process.removeListener("exit", this.killAll);
      this.isExitHooked = false;
    }
  }

  private serial<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.queues.get(id) ?? Promise.resolve()).then(fn);
    const done = run.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(id, done);
    void done.then(() => {
      if (this.queues.get(id) === done) this.queues.delete(id);
    });
    return run;
  }

  private async reconcile(spec: ServingSpec): Promise<ServingState> {
    const current = this.deployments.get(spec.deploymentId);
    if (current && (current.spec.modelPath !== spec.modelPath || current.spec.version !== spec.version || current.spec.modelName !== spec.modelName)) {
      return this.replace(current, spec);
    }
    const dep = current ?? { spec, replicas: [], next: 0, load: newLoad() };
    if (!current) this.deployments.set(spec.deploymentId, dep);
    dep.spec = spec;

    // Scale down: the highest indexes leave routing at once, finish what they hold, then stop.
    const removed = dep.replicas.splice(spec.replicas);
    if (removed.length > 0) {
      for (const r of removed) r.isStopping = true;
      this.notify(dep);
      await Promise.all(removed.map((r) => this.retire(dep, r)));
    }

    const added: Replica[] = [];
    const waits: Promise<void>[] = [];
    for (let i = 0; i < spec.replicas; i++) {
      let r = dep.replicas[i];
      if (!r) {
        r = newReplica(i);
        dep.replicas.push(r);
        added.push(r);
      } else if (r.status === "ready") {
        continue;
      } else if (r.launching) {
        waits.push(r.launching);
        continue;
      } else {
        // failed, or waiting out a restart backoff: start now with a fresh restart budget
        clearTimeout(r.restartTimer);
        r.crashes = [];
      }
      waits.push(this.launch(dep, r, "starting"));
    }
    if (added.length > 0) this.notify(dep);
    const failure = (await Promise.allSettled(waits)).find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (failure) {
      const started = current ? added : dep.replicas;
      await Promise.all(started.map((r) => this.stopReplica(dep, r)));
      if (current) {
        dep.replicas.splice(dep.replicas.length - added.length);
        this.notify(dep);
      } else this.deployments.delete(spec.deploymentId);
      throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
    }
    return this.snapshot(dep);
  }

  /** A new model or version: a full set of replicas starts unregistered and is swapped in once all serve. */
  private async replace(old: Deployment, spec: ServingSpec): Promise<ServingState> {
    const fresh: Deployment = { spec, replicas: Array.from({ length: spec.replicas }, (_, i) => newReplica(i)), next: 0, load: newLoad() };
    const failure = (await Promise.allSettled(fresh.replicas.map((r) => this.launch(fresh, r, "starting")))).find(
      (s): s is PromiseRejectedResult => s.status === "rejected",
    );
    if (failure) {
      await Promise.all(fresh.replicas.map((r) => this.stopReplica(fresh, r)));
      throw failure.reason instanceof Error ? failure.reason : new Error(String(failure.reason));
    }
    this.deployments.set(spec.deploymentId, fresh);
    this.notify(fresh);
    await Promise.all(old.replicas.map((r) => this.retire(old, r)));
    return this.snapshot(fresh);
  }

  private launch(dep: Deployment, r: Replica, status: "starting" | "restarting"): Promise<void> {
    const { spec } = dep;
    const label = `replica ${r.index} of ${spec.modelName} v${spec.version}`;
    const p = new Promise<void>((resolve, reject) => {
      this.hookExit();
      const child = spawn(
        this.nodeBinary,
        [this.serverScript, "--model", spec.modelPath, "--name", spec.modelName, "--version", String(spec.version), "--port", "0", "--exit-on-stdin-close", "--secret-from-stdin"],
        // Its own process group, so a stop reaches anything it starts; stdin is the lifeline that
        // ends it if this process dies without running its exit handler.
        { detached: true, stdio: ["pipe", "pipe", "pipe"] },
      );
      // The shared secret: replicas answer only requests that carry it (see SECRET_HEADER).
      child.stdin?.write(`${this.secret}\n`);
      let markExited!: () => void;
      const proc: Proc = { child, pid: child.pid ?? -1, isReady: false, hasExited: false, exited: new Promise((res) => (markExited = res)), stderr: "" };
      r.proc = proc;
      r.port = null;
      r.isStopping = false;
      this.setStatus(dep, r, status, status === "restarting" ? r.message : null);
      if (proc.pid > 0) this.live.add(proc);

      let isSettled = false;
      const settle = (err?: Error) => {
        if (isSettled) return;
        isSettled = true;
        clearTimeout(timer);
        if (r.launching === p) r.launching = null;
        if (err) reject(err);
        else resolve();
      };
      let timedOut: string | null = null;
      const timer = setTimeout(() => {
        timedOut = `did not start serving within ${this.startTimeoutMs / 1000} s${tail(proc.stderr)}`;
        signalGroup(proc.pid, "SIGKILL");
      }, this.startTimeoutMs);

      let buffered = "";
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        if (proc.isReady) return;
        buffered += chunk;
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const port = readyPort(line);
          if (port === null || isSettled || r.proc !== proc) continue;
          proc.isReady = true;
          r.port = port;
          r.startedAt = new Date();
          this.setStatus(dep, r, "ready", null);
          settle();
          return;
        }
        buffered = buffered.slice(-STDERR_TAIL);
      });
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        proc.stderr = (proc.stderr + chunk).slice(-STDERR_TAIL);
      });
      // Writes never happen; a replica that is gone must not surface as an EPIPE on this process.
      child.stdin!.on("error", () => undefined);

      const onGone = (how: string) => {
        if (proc.hasExited) return;
        proc.hasExited = true;
        this.live.delete(proc);
        // The leader is gone; make sure nothing it started lingers in the group.
        if (proc.pid > 0) signalGroup(proc.pid, "SIGKILL");
        markExited();
        if (r.proc !== proc) return settle(new Error(`${label} was replaced`));
        r.proc = null;
        r.port = null;
        if (r.isStopping) return settle(new Error(`${label} was stopped before it served`));
        const reason = timedOut ?? `model server ${how}${tail(proc.stderr)}`;
        if (!proc.isReady && status === "starting") {
          const message = `${label} failed to start: ${reason}`;
          this.setStatus(dep, r, "failed", message);
          return settle(new Error(message));
        }
        settle(new Error(`${label} failed to restart: ${reason}`));
        this.crashed(dep, r, reason);
      };
      child.once("exit", (code, signal) => onGone(signal ? `exited on signal ${signal}` : `exited with code ${code}`));
      child.once("error", (err) => onGone(`could not be started (${err.message})`));
    });
    r.launching = p;
    return p;
  }

  /** After an unexpected exit: restart with exponential backoff, or give up past maxRestarts in the window. */
  private crashed(dep: Deployment, r: Replica, reason: string): void {
    const now = Date.now();
    r.crashes = r.crashes.filter((t) => now - t < RESTART_WINDOW_MS);
    r.crashes.push(now);
    if (r.crashes.length > this.maxRestarts) {
      this.setStatus(dep, r, "failed", `${reason} (gave up after ${this.maxRestarts} restarts within ${RESTART_WINDOW_MS / 1000} s)`);
      return;
    }
    const delay = Math.min(BACKOFF_MS * 2 ** (r.crashes.length - 1), MAX_BACKOFF_MS);
    r.restarts += 1;
    this.setStatus(dep, r, "restarting", `${reason}; restarting in ${delay} ms`);
    r.restartTimer = setTimeout(() => {
      r.restartTimer = undefined;
      if (r.isStopping || r.status !== "restarting") return;
      this.launch(dep, r, "restarting").catch(() => undefined);
    }, delay);
    r.restartTimer.unref();
  }

  /** A replica out of routing: its in-flight requests finish (up to DRAIN_TIMEOUT_MS), then it stops. */
  private async retire(dep: Deployment, r: Replica): Promise<void> {
    r.isStopping = true;
    if (r.inflight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, DRAIN_TIMEOUT_MS);
        function done() {
          clearTimeout(timer);
          r.onDrained = null;
          resolve();
        }
        r.onDrained = done;
      });
    }
    await this.stopReplica(dep, r);
  }

  private async stopReplica(dep: Deployment, r: Replica): Promise<void> {
    r.isStopping = true;
    clearTimeout(r.restartTimer);
    const proc = r.proc;
    if (proc && !proc.hasExited) {
      signalGroup(proc.pid, "SIGTERM");
      const kill = setTimeout(() => signalGroup(proc.pid, "SIGKILL"), GRACE_MS);
      await proc.exited;
      clearTimeout(kill);
    }
    r.port = null;
    this.setStatus(dep, r, "stopped", null);
  }

  private setStatus(dep: Deployment, r: Replica, status: ReplicaStatus, message: string | null): void {
    const isChange = r.status !== status || r.message !== message;
    r.status = status;
    r.message = message;
    if (isChange && dep.replicas.includes(r)) this.notify(dep);
  }

  /** Only the registered set is reported: replicas starting for a swap, or leaving, are not the deployment's state. */
  private notify(dep: Deployment): void {
    if (!this.onChange || this.deployments.get(dep.spec.deploymentId) !== dep) return;
    try {
      this.onChange(this.snapshot(dep));
    } catch (err) {
      log.error(`replica status listener failed for deployment ${dep.spec.deploymentId}`, { err });
    }
  }

  private snapshot(dep: Deployment): ServingState {
    const replicas = dep.replicas.map((r) => ({
      index: r.index,
      pid: r.proc && !r.proc.hasExited ? r.proc.pid : null,
      port: r.port,
      status: r.status,
      restarts: r.restarts,
      startedAt: r.startedAt,
      message: r.message,
    }));
    return { deploymentId: dep.spec.deploymentId, replicas, ready: replicas.filter((r) => r.status === "ready").length, desired: dep.spec.replicas };
  }

  /** If this process exits (even without stopAll), its replicas go with it. */
  private hookExit(): void {
    if (this.isExitHooked) return;
    this.isExitHooked = true;
    process.once("exit", this.killAll);
  }

  private readonly killAll = (): void => {
    for (const proc of this.live) signalGroup(proc.pid, "SIGKILL");
  };
}

function newReplica(index: number): Replica {
  return { index, proc: null, port: null, status: "starting", restarts: 0, startedAt: null, message: null, crashes: [], isStopping: false, launching: null, inflight: 0, onDrained: null };
}

/** Moves a deployment's in-flight integral up to now, then applies a change of `delta` requests. */
function account(load: Load, delta: number): void {
  const now = performance.now();
  load.area += load.inflight * (now - load.at);
  load.at = now;
  load.inflight += delta;
}

function readyPort(line: string): number | null {
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== "object" || parsed === null) return null;
    const { ready, port } = parsed as { ready?: unknown; port?: unknown };
    return ready === true && typeof port === "number" && Number.isInteger(port) && port > 0 ? port : null;
  } catch {
    return null;
  }
}
