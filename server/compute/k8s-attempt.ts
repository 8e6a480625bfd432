// Follows one attempt's Job until it ends: its status from a watch (re-listing when the watch's
// resourceVersion expires), the pod's output from the log API, and — while no pod exists — the job
// controller's Events, so a quota refusal reaches the job's status message.
import { appendFileSync } from "node:fs";
import type { BatchV1Api, CoreV1Api, Log, V1Job, V1Pod, Watch } from "@kubernetes/client-node";
import type { AttemptHandlers, ExitInfo, LaunchSpec } from "./backend";
import { hasStatus, k8sCall } from "./k8s-api";
import type { LogCursor } from "./k8s-logs";
import { PodLogWriter } from "./k8s-logs";
import { FETCH_CONTAINER, JOB_NAME_LABEL, KUEUE_QUEUE_LABEL, LABELS, MAIN_CONTAINER, MANAGED_BY } from "./k8s-manifest";
import { secretName } from "./k8s-manifest";

export type K8sClients = { batch: BatchV1Api; core: CoreV1Api; watch: Watch; log: Log };

const DRAIN_MS = 5_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Condition = { type?: string; status?: string; reason?: string; message?: string };
const condition = (job: V1Job, type: string): Condition | undefined =>
  (job.status?.conditions as Condition[] | undefined)?.find((c) => c.type === type && c.status === "True");

function mainState(pod: V1Pod) {
  return pod.status?.containerStatuses?.find((c) => c.name === MAIN_CONTAINER)?.state;
}

/** Whether the job ended with exit code 0, a deadline, or a failure; null while it runs. */
export function terminal(job: V1Job): "complete" | "deadline" | "failed" | null {
  if (condition(job, "Complete")) return "complete";
  const failed = condition(job, "Failed");
  if (!failed) return null;
  return failed.reason === "DeadlineExceeded" ? "deadline" : "failed";
}

/** The exit code of a failed attempt: the main container's, else a failed code fetch's, else 1. */
export function exitCodeOf(pods: V1Pod[]): number {
  for (const pod of pods) {
    const code = mainState(pod)?.terminated?.exitCode;
    if (code !== undefined && code !== null && code !== 0) return code;
  }
  for (const pod of pods) {
    const init = pod.status?.initContainerStatuses?.find((c) => c.name === FETCH_CONTAINER)?.state?.terminated?.exitCode;
    if (init) return init;
  }
  return 1;
}

export class Attempt {
  readonly namespace: string;
  readonly name: string;
  private done = false;
  private watchAbort: AbortController | null = null;
  private pollTimer: NodeJS.Timeout | null = null;
  private latest: V1Job | null = null;
  private follower: { pod: string; ended: Promise<void>; abort: () => void } | null = null;
  /** Pods whose main container ended and whose output has been read to the end. */
  private readonly drained = new Set<string>();
  private readonly cursor: LogCursor = { lastKey: null, lastStamp: null };
  private lastMessage: string | null = null;
  private refused = false;
  private started = false;
  private cancelling = false;

  constructor(
    private readonly k8s: K8sClients,
    private readonly spec: LaunchSpec,
    private readonly handlers: AttemptHandlers,
    job: { namespace: string; name: string },
    private readonly pollMs: number,
    private readonly onDone: () => void,
  ) {
    this.namespace = job.namespace;
    this.name = job.name;
  }

  get isDone(): boolean {
    return this.done;
  }

  start(): void {
    void this.watchLoop();
    this.pollTimer = setTimeout(() => void this.poll(), 0);
  }

  private get selector(): string {
    return `${MANAGED_BY}=cairn,${LABELS.job}=${this.spec.jobId},${LABELS.attempt}=${this.spec.attempt}`;
  }

  // ---- status ---------------------------------------------------------------------------------

  private async watchLoop(): Promise<void> {
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!this.done) {
      try {
        if (!resourceVersion) {
          const list = await k8sCall("list jobs", () => this.k8s.batch.listNamespacedJob({ namespace: this.namespace, labelSelector: this.selector }));
          resourceVersion = list.metadata?.resourceVersion;
          const job = list.items.find((j) => j.metadata?.name === this.name);
          if (!job) return this.vanished();
          this.onJob(job);
          if (this.done) return;
        }
        const next = await this.watchOnce(resourceVersion!);
        resourceVersion = next; // undefined after 410 Gone: re-list
        failures = 0;
      } catch {
        if (this.done) return;
        failures++;
        await sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)));
      }
    }
  }

  /** One watch connection; resolves with the resourceVersion to resume from, or undefined to re-list. */
  private watchOnce(resourceVersion: string): Promise<string | undefined> {
    return new Promise((resolve, reject) => {
      let rv: string | undefined = resourceVersion;
      let failure: unknown = null;
      const path = `/apis/batch/v1/namespaces/${this.namespace}/jobs`;
      const query = { labelSelector: this.selector, resourceVersion, allowWatchBookmarks: true };
      this.k8s.watch
        .watch(path, query, (type: string, object: unknown) => {
          const obj = object as V1Job & { code?: number; message?: string };
          if (type === "ERROR") {
            if (obj.code === 410) rv = undefined;
            else failure = new Error(`watch error ${obj.code ?? ""}: ${obj.message ?? ""}`);
            return;
          }
          if (rv !== undefined && obj.metadata?.resourceVersion) rv = obj.metadata.resourceVersion;
          if (type === "BOOKMARK" || obj.metadata?.name !== this.name) return;
          if (type === "DELETED") void this.vanished();
          else this.onJob(obj);
        }, (err: unknown) => {
          this.watchAbort = null;
          if (err || failure) reject(err ?? failure);
          else resolve(rv);
        })
        .then((controller) => {
          if (this.done) controller.abort();
          else this.watchAbort = controller;
        }, reject);
    });
  }

  private onJob(job: V1Job): void {
    if (this.done || this.cancelling) return;
    if (this.latest?.spec?.suspend && !job.spec?.suspend && job.metadata?.labels?.[KUEUE_QUEUE_LABEL]) this.message("admitted by Kueue");
    this.latest = job;
    const end = terminal(job);
    if (end === "complete") void this.finish({ exitCode: 0, signal: null });
    else if (end === "deadline") void this.finish({ exitCode: null, signal: null, reason: "timeout" });
    else if (end === "failed") void this.finishFailed();
  }

  private async finishFailed(): Promise<void> {
    const pods = await this.pods().catch(() => [] as V1Pod[]);
    const oomKilled = pods.some((p) => mainState(p)?.terminated?.reason === "OOMKilled");
    await this.finish({ exitCode: exitCodeOf(pods), signal: null, ...(oomKilled ? { oomKilled } : {}) });
  }

  /** The Job is gone without Cairn deleting it (someone deleted it, or the namespace). */
  private async vanished(): Promise<void> {
    if (this.cancelling) return;
    await this.finish({ exitCode: null, signal: "SIGKILL" }, "the Kubernetes Job was deleted outside Cairn");
  }

  // ---- pods, logs and events ------------------------------------------------------------------

  private async pods(): Promise<V1Pod[]> {
    const list = await k8sCall("list pods", () => this.k8s.core.listNamespacedPod({ namespace: this.namespace, labelSelector: `${JOB_NAME_LABEL}=${this.name}` }));
    return list.items;
  }

  private message(text: string): void {
    // A refusal names a new pod on every retry: compare without the pod's name.
    const key = text.replace(/pods "[^"]*"/g, "pods");
    if (key === this.lastMessage) return;
    this.lastMessage = key;
    this.handlers.onMessage?.(text);
  }

  private async poll(): Promise<void> {
    if (this.done) return;
    try {
      if (!this.follower) {
        const pods = await this.pods();
        if (this.latest?.spec?.suspend) {
          const queue = this.latest.metadata?.labels?.[KUEUE_QUEUE_LABEL];
          this.message(queue ? `waiting for Kueue to admit the job (LocalQueue ${queue})` : "the Kubernetes Job is suspended");
        } else if (pods.length === 0 && (this.latest?.status?.active ?? 0) === 0) await this.readEvents();
        for (const pod of pods) {
          const name = pod.metadata?.name ?? "";
          const waiting = pod.status?.containerStatuses?.find((c) => c.state?.waiting?.message)?.state?.waiting;
          if (waiting && waiting.reason !== "PodInitializing" && waiting.reason !== "ContainerCreating") this.message(`pod ${name}: ${waiting.reason}: ${waiting.message}`);
          const state = mainState(pod);
          if ((state?.running || state?.terminated) && !this.drained.has(name) && !this.done) {
            if (this.refused) this.message(`pod ${name} started`);
            this.refused = false;
            this.follow(name);
            break;
          }
        }
      }
    } catch {
      // transient: the next poll tries again, and the watch still reports the end
    }
    if (!this.done) this.pollTimer = setTimeout(() => void this.poll(), this.pollMs);
  }

  private async readEvents(): Promise<void> {
    const list = await k8sCall("list events", () =>
      this.k8s.core.listNamespacedEvent({ namespace: this.namespace, fieldSelector: `involvedObject.name=${this.name}` }));
    const refusals = list.items
      .filter((e) => e.reason === "FailedCreate" && e.involvedObject?.kind === "Job")
      .sort((a, b) => stamp(a) - stamp(b));
    const last = refusals.at(-1);
    if (!last?.message) return;
    this.refused = true;
    this.message(`waiting for the cluster: ${last.message.replace(/^Error creating: /, "")}`);
  }

  private follow(pod: string): void {
    if (!this.started) {
      this.started = true;
      this.handlers.onStarted?.();
    }
    const writer = new PodLogWriter(this.spec.logFile, this.cursor);
    let controller: AbortController | null = null;
    let aborted = false;
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));
    writer.once("finish", markEnded);
    writer.once("close", markEnded);
    writer.once("error", markEnded);
    this.k8s.log
      .log(this.namespace, pod, MAIN_CONTAINER, writer, { follow: true, timestamps: true, ...(this.cursor.lastStamp ? { sinceTime: this.cursor.lastStamp } : {}) })
      .then((c) => {
        controller = c;
        if (aborted) c.abort();
      }, () => markEnded());
    const abort = () => {
      aborted = true;
      controller?.abort();
      markEnded();
    };
    const entry = { pod, ended, abort };
    this.follower = entry;
    void ended.then(async () => {
      // A follow ends when the container does, or when the connection drops: only the first is final.
      const pods = await this.pods().catch(() => [] as V1Pod[]);
      if (mainState(pods.find((p) => p.metadata?.name === pod) ?? {})?.terminated) this.drained.add(pod);
      if (this.follower === entry) this.follower = null;
    });
  }

  /** After the end: read what the follow has not (a pod that ran and ended between two polls). */
  private async drain(): Promise<void> {
    const current = this.follower;
    if (current) {
      await Promise.race([current.ended, sleep(DRAIN_MS)]);
      current.abort();
      this.drained.add(current.pod);
    }
    const pods = await this.pods().catch(() => [] as V1Pod[]);
    for (const pod of pods) {
      const name = pod.metadata?.name ?? "";
      const state = mainState(pod);
      if (this.drained.has(name) || !(state?.running || state?.terminated)) continue;
      const writer = new PodLogWriter(this.spec.logFile, this.cursor);
      const ended = new Promise<void>((resolve) => {
        writer.once("finish", resolve);
        writer.once("error", resolve);
      });
      const controller = await this.k8s.log
        .log(this.namespace, name, MAIN_CONTAINER, writer, { follow: false, timestamps: true, ...(this.cursor.lastStamp ? { sinceTime: this.cursor.lastStamp } : {}) })
        .catch(() => null);
      if (controller) await Promise.race([ended, sleep(DRAIN_MS)]);
      controller?.abort();
    }
  }

  // ---- the end --------------------------------------------------------------------------------

  private stopFollowing(): void {
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.watchAbort?.abort();
    this.watchAbort = null;
  }

  /** Ends the attempt once: final output, the footer line, the Secret removed, then onExit. */
  async finish(exit: ExitInfo, note?: string): Promise<void> {
    if (this.done) return;
    this.done = true;
    this.stopFollowing();
    if (exit.reason === "cancelled") this.follower?.abort();
    else await this.drain().catch(() => undefined);
    const how = exit.reason ?? (exit.signal ? `signal ${exit.signal}` : `exit code ${exit.exitCode}`);
    try {
      appendFileSync(this.spec.logFile, `${note ? `${note}\n` : ""}=== attempt ${this.spec.attempt} ended ${new Date().toISOString()}: ${how}\n`);
    } catch {
      // the log is best effort
    }
    await this.k8s.core.deleteNamespacedSecret({ name: secretName(this.name), namespace: this.namespace }).catch(() => undefined);
    this.onDone();
    this.handlers.onExit(exit);
  }

  /** Cancel: the Job goes (its pods with it, in the background), and the attempt ends as cancelled. */
  async cancel(): Promise<void> {
    if (this.done) return;
    this.cancelling = true;
    try {
      await k8sCall(`delete job ${this.name}`, () =>
        this.k8s.batch.deleteNamespacedJob({ name: this.name, namespace: this.namespace, propagationPolicy: "Background" }));
    } catch (err) {
      if (!hasStatus(err, 404)) {
        this.cancelling = false;
        throw err;
      }
    }
    await this.finish({ exitCode: null, signal: null, reason: "cancelled" });
  }
}

function stamp(e: { lastTimestamp?: Date; eventTime?: Date; metadata?: { creationTimestamp?: Date } }): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}
