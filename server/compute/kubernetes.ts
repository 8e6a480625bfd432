// The Kubernetes executor: each attempt is a batch/v1 Job in the team's namespace (cairn-<team>),
// named per job and attempt so a re-submit adopts the Job it already made, with the job's token in a
// Secret the Job owns. Handles are "k8s:<namespace>/<name>" and survive a restart.
import { mkdirSync, appendFileSync } from "node:fs";
import path from "node:path";
import { ApisApi, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, Log, Watch } from "@kubernetes/client-node";
import type { V1Job } from "@kubernetes/client-node";
import { env } from "../env";
import { AppError } from "../errors";
import type { AttemptHandlers, ComputeBackend, LaunchSpec, ResourceUsage } from "./backend";
import { hasStatus, k8sCall, servesKueue, statusOf } from "./k8s-api";
import { PodUsageReader } from "./k8s-pod-usage";
import type { K8sClients } from "./k8s-attempt";
import { Attempt, terminal } from "./k8s-attempt";
import { buildJobManifest, buildSecretManifest, JOB_NAME_LABEL, jobName, LABELS, LOCAL_QUEUE_NAME, MANAGED_BY, namespaceFor } from "./k8s-manifest";

export type KubernetesBackendOptions = {
  kubeConfig: KubeConfig;
  defaultImage?: string;
  fetchImage?: string;
  ttlSecondsAfterFinished?: number;
  /** How often a waiting attempt's pods and Events are read (a quota refusal shows within this). */
  pollMs?: number;
  /** Cairn's base URL as pods reach it (for the code download); defaults to the job's MLFLOW_TRACKING_URI. */
  cairnUrl?: string;
  /** How often kill() checks that a Job is gone. */
  killPollMs?: number;
  /** Whether Jobs join the team's Kueue LocalQueue: "auto" (default) when the cluster serves Kueue's API group. */
  kueue?: "auto" | boolean;
  /**
   * Annotations for an attempt's pod template, chosen by the operator (never by a user): a sidecar opt-out, or in
   * the cluster suite KWOK's simulated outcome (scripts/cluster/kwok-stages.yaml).
   */
  podAnnotations?: (spec: LaunchSpec) => Record<string, string>;
};

const REF = /^k8s:([a-z0-9-]+)\/([a-z0-9.-]+)$/;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function parseRef(ref: string): { namespace: string; name: string } | null {
  const m = REF.exec(ref);
  return m ? { namespace: m[1]!, name: m[2]! } : null;
}

/**
 * createBackend("kubernetes"): KUBECONFIG / ~/.kube/config or the in-cluster service account, else the kubeconfig
 * of the local cluster `npm run cluster` runs.
 */
export function defaultKubeConfig(): KubeConfig {
  const source = env().kubernetes.kubeconfig;
  if (source.kind === "none") {
    throw new Error(`CAIRN_COMPUTE_BACKEND=kubernetes but no cluster credentials were found (looked at ${source.looked.join(", ")}). Start the local cluster with \`npm run cluster\`, or set KUBECONFIG.`);
  }
  const kc = new KubeConfig();
  if (source.kind === "file") kc.loadFromFile(source.path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error("CAIRN_COMPUTE_BACKEND=kubernetes but the kubeconfig names no current cluster; set its current-context.");
  return kc;
}

export class KubernetesBackend implements ComputeBackend {
  readonly name = "kubernetes" as const;
  private readonly k8s: K8sClients;
  private readonly live = new Map<string, Attempt>();
  private readonly opts: Required<Omit<KubernetesBackendOptions, "cairnUrl" | "kubeConfig" | "podAnnotations">> & Pick<KubernetesBackendOptions, "cairnUrl" | "podAnnotations">;
  private readonly apis: ApisApi;
  private readonly custom: CustomObjectsApi;
  private readonly pods: PodUsageReader;
  private readonly kueueSeen = new Map<string, { value: boolean; at: number }>();

  constructor(options: KubernetesBackendOptions) {
    const kc = options.kubeConfig;
    this.k8s = { batch: kc.makeApiClient(BatchV1Api), core: kc.makeApiClient(CoreV1Api), watch: new Watch(kc), log: new Log(kc) };
    this.apis = kc.makeApiClient(ApisApi);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.pods = new PodUsageReader(this.apis, this.custom);
    this.opts = {
      defaultImage: options.defaultImage ?? "node:20-slim",
      fetchImage: options.fetchImage ?? "curlimages/curl:8.11.1",
      ttlSecondsAfterFinished: options.ttlSecondsAfterFinished ?? 3600,
      pollMs: options.pollMs ?? 5000,
      killPollMs: options.killPollMs ?? 500,
      cairnUrl: options.cairnUrl,
      kueue: options.kueue ?? "auto",
      podAnnotations: options.podAnnotations,
    };
  }

  /**
   * Whether a Job in `namespace` should join Kueue: the cluster serves Kueue's API group and the team's
   * LocalQueue exists (without it a labelled, suspended Job would wait forever). Asked at most once a minute;
   * when the API cannot say, the last answer stands (none yet: no Kueue).
   */
  private async useKueue(namespace: string): Promise<boolean> {
    if (this.opts.kueue !== "auto") return this.opts.kueue;
    const seen = this.kueueSeen.get(namespace);
    if (seen && Date.now() - seen.at < 60_000) return seen.value;
    try {
      let value = await servesKueue(this.apis);
      if (value) {
        try {
          await k8sCall(`read LocalQueue ${LOCAL_QUEUE_NAME}`, () =>
            this.custom.getNamespacedCustomObject({ group: "kueue.x-k8s.io", version: "v1beta1", namespace, plural: "localqueues", name: LOCAL_QUEUE_NAME }));
        } catch (err) {
          if (!hasStatus(err, 404)) throw err;
          value = false;
        }
      }
      this.kueueSeen.set(namespace, { value, at: Date.now() });
      return value;
    } catch {
      return seen?.value ?? false;
    }
  }

  async start(spec: LaunchSpec, handlers: AttemptHandlers): Promise<{ ref: string }> {
    if (spec.command.length === 0) throw new Error("empty command");
    const base = (this.opts.cairnUrl ?? spec.env.MLFLOW_TRACKING_URI ?? "").replace(/\/+$/, "");
    const manifest = buildJobManifest(spec, {
      defaultImage: this.opts.defaultImage,
      fetchImage: this.opts.fetchImage,
      ttlSecondsAfterFinished: this.opts.ttlSecondsAfterFinished,
      codeUrl: spec.source && base ? `${base}/api/v1/jobs/${spec.jobId}/code` : null,
      queueName: (await this.useKueue(namespaceFor(spec.team))) ? LOCAL_QUEUE_NAME : null,
      podAnnotations: this.opts.podAnnotations?.(spec),
    });
    const namespace = manifest.metadata!.namespace!;
    const name = manifest.metadata!.name!;
    const ref = `k8s:${namespace}/${name}`;
    const running = this.live.get(ref);
    if (running && !running.isDone) return { ref };
    mkdirSync(path.dirname(spec.logFile), { recursive: true });
    appendFileSync(spec.logFile, `\n=== attempt ${spec.attempt} started ${new Date().toISOString()}: ${spec.command.join(" ")}\n`);
    const job = await this.createJob(spec, manifest);
    try {
      await this.putSecret(spec, { name, uid: job.metadata?.uid ?? "" });
    } catch (err) {
      await this.deleteJob(namespace, name).catch(() => undefined);
      throw err;
    }
    const attempt = new Attempt(this.k8s, spec, handlers, { namespace, name }, this.opts.pollMs, () => {
      if (this.live.get(ref) === attempt) this.live.delete(ref);
    });
    this.live.set(ref, attempt);
    attempt.start();
    return { ref };
  }

  /** Creates the Job (and, the first time, the team's namespace); an existing Job of this attempt is adopted. */
  private async createJob(spec: LaunchSpec, manifest: V1Job): Promise<V1Job> {
    const namespace = manifest.metadata!.namespace!;
    const name = manifest.metadata!.name!;
    const create = () => k8sCall(`create job ${name}`, () => this.k8s.batch.createNamespacedJob({ namespace, body: manifest }));
    try {
      return await create();
    } catch (err) {
      const status = statusOf(err);
      if (status?.code === 404 && status.details?.kind === "namespaces") {
        await this.ensureNamespace(namespace, spec.team);
        return this.createJob(spec, manifest);
      }
      if (status?.code !== 409) throw err;
    }
    // 409 AlreadyExists: this attempt was submitted before (a crash between create and recording it).
    const existing = await k8sCall(`read job ${name}`, () => this.k8s.batch.readNamespacedJob({ name, namespace }));
    const labels = existing.metadata?.labels ?? {};
    if (labels[LABELS.job] !== spec.jobId || labels[LABELS.attempt] !== String(spec.attempt)) {
      throw new AppError("conflict", `Kubernetes Job ${namespace}/${name} already exists and belongs to another job (${labels[LABELS.job] ?? "not Cairn's"})`);
    }
    return existing;
  }

  private async ensureNamespace(namespace: string, team: string): Promise<void> {
    try {
      await k8sCall(`create namespace ${namespace}`, () =>
        this.k8s.core.createNamespace({ body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels: { [MANAGED_BY]: "cairn", [LABELS.team]: team } } } }));
    } catch (err) {
      if (!hasStatus(err, 409)) throw err;
    }
  }

  private async putSecret(spec: LaunchSpec, owner: { name: string; uid: string }): Promise<void> {
    const body = buildSecretManifest(spec, owner);
    const namespace = body.metadata!.namespace!;
    try {
      await k8sCall(`create secret ${body.metadata!.name}`, () => this.k8s.core.createNamespacedSecret({ namespace, body }));
    } catch (err) {
      if (!hasStatus(err, 409)) throw err;
      // Left by an earlier submit of this attempt: replace it, its token may be stale.
      await k8sCall(`replace secret ${body.metadata!.name}`, () => this.k8s.core.replaceNamespacedSecret({ name: body.metadata!.name!, namespace, body }));
    }
  }

  private async deleteJob(namespace: string, name: string): Promise<boolean> {
    try {
      await k8sCall(`delete job ${name}`, () => this.k8s.batch.deleteNamespacedJob({ name, namespace, propagationPolicy: "Background" }));
      return true;
    } catch (err) {
      if (hasStatus(err, 404)) return false;
      throw err;
    }
  }

  async cancel(ref: string): Promise<void> {
    const attempt = this.live.get(ref);
    if (attempt && !attempt.isDone) return attempt.cancel();
    await this.kill(ref);
  }

  /**
   * The attempt's pods as metrics.k8s.io (metrics-server) measures them, else Prometheus' cAdvisor series
   * (./k8s-pod-usage.ts); without either, "unavailable" — nothing is estimated.
   */
  async usage(ref: string): Promise<ResourceUsage | null> {
    const at = parseRef(ref);
    if (!at) return null;
    return this.pods.read({ namespace: at.namespace, labelSelector: `${JOB_NAME_LABEL}=${at.name}`, owner: at.name });
  }

  /** The attempt's Job has a name of its own (jobName), so its handle is known without the recorded one. */
  async locate(at: { jobId: string; attempt: number; team: string }): Promise<string | null> {
    return `k8s:${namespaceFor(at.team)}/${jobName(at.jobId, at.attempt)}`;
  }

  async isAlive(ref: string): Promise<boolean> {
    const at = parseRef(ref);
    if (!at) return false;
    try {
      const job = await k8sCall(`read job ${at.name}`, () => this.k8s.batch.readNamespacedJob(at));
      return terminal(job) === null;
    } catch (err) {
      if (hasStatus(err, 404)) return false;
      throw err;
    }
  }

  /** Deletes the Job and waits until it is gone, then (for a while) until its pods are. */
  async kill(ref: string): Promise<void> {
    const at = parseRef(ref);
    if (!at) return;
    const attempt = this.live.get(ref);
    if (attempt && !attempt.isDone) await attempt.cancel();
    else await this.deleteJob(at.namespace, at.name);
    const deadline = Date.now() + 120_000;
    for (;;) {
      try {
        await k8sCall(`read job ${at.name}`, () => this.k8s.batch.readNamespacedJob(at));
      } catch (err) {
        if (hasStatus(err, 404)) break;
        throw err;
      }
      if (Date.now() > deadline) throw new AppError("upstream_unavailable", `Kubernetes Job ${at.namespace}/${at.name} is still there 2 minutes after it was deleted`);
      await sleep(this.opts.killPollMs);
    }
    const until = Date.now() + 60_000;
    while (Date.now() < until) {
      const pods = await k8sCall("list pods", () => this.k8s.core.listNamespacedPod({ namespace: at.namespace, labelSelector: `${JOB_NAME_LABEL}=${at.name}` }));
      if (pods.items.length === 0) return;
      await sleep(this.opts.killPollMs);
    }
  }
}
