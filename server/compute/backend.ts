// The one interface every executor implements (ARCHITECTURE.md "backends"): start an attempt of a job,
// cancel it, and tell whether an attempt started by an earlier server process is still alive.

export type LaunchSpec = {
  jobId: string;
  attempt: number;
  /** The team's slug (its Kubernetes namespace is `cairn-<slug>`, chosen by Cairn, never by the user). */
  team: string;
  runId: string;
  experimentId: number;
  /** Container image (kubernetes executor); the local executor ignores it. */
  image: string | null;
  /** The built-in code source ("examples/churn"), already copied into workdir for the local executor. */
  source: string | null;
  command: string[];
  /** The complete environment of the process: built by Cairn, never inherited from the server. */
  env: Record<string, string>;
  workdir: string;
  logFile: string;
  maxRuntimeSeconds: number;
  resources: { cpu: number; memoryGib: number; gpus: number; gpuType: string | null };
};

export type AttemptHandlers = {
  /** Called exactly once when the attempt ends. */
  onExit: (exit: ExitInfo) => void;
  /** A status message worth showing on the job while it runs (e.g. "exceeded quota" from the cluster). */
  onMessage?: (message: string) => void;
  /**
   * The workload itself began, later than the attempt (a pod that waited for Kueue, the quota or an image):
   * runtime, cost and the job's token count from here. Executors that start at once need not call it.
   */
  onStarted?: () => void;
};

export type ExitInfo = {
  exitCode: number | null;
  signal: string | null;
  /** Set when Cairn ended the attempt itself. */
  reason?: "cancelled" | "timeout";
  /** The executor saw the container killed for exceeding its memory limit (Kubernetes' OOMKilled). */
  oomKilled?: boolean;
};

/** What a running attempt uses now: CPU in cores and memory in bytes, or why that cannot be read. */
export type ResourceUsage =
  | { source: "process" | "pod-metrics" | "prometheus"; cpuCores: number; memoryBytes: number }
  | { source: "unavailable"; reason: string };

export interface ComputeBackend {
  readonly name: "local" | "kubernetes";
  /** Starts the attempt; `handlers.onExit` is called exactly once when it ends. Returns the executor's handle. */
  start(spec: LaunchSpec, handlers: AttemptHandlers): Promise<{ ref: string }>;
  /** Stops the attempt (its whole process group / pod); onExit then reports reason "cancelled". */
  cancel(ref: string): Promise<void>;
  /** For recovery after a restart: is the attempt behind `ref` still running? */
  isAlive(ref: string): Promise<boolean>;
  /** For recovery after a restart: stops an attempt this process did not start, and waits until it is gone. */
  kill(ref: string): Promise<void>;
  /**
   * For recovery after a crash between starting an attempt and recording its handle: the handle of attempt
   * `attempt` of the job if it exists (alive or not), found without the handle — null when nothing was started.
   */
  locate(at: { jobId: string; attempt: number; team: string }): Promise<string | null>;
  /**
   * CPU and memory the attempt behind `ref` uses now; null when there is nothing to read yet or any more (not
   * started, ended). Executors that cannot tell leave it out.
   */
  usage?(ref: string): Promise<ResourceUsage | null>;
}
