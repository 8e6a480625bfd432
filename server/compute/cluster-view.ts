// What the portal shows of the cluster, read from the Kubernetes API as it is now (CAIRN_COMPUTE_BACKEND=kubernetes):
// for admins the nodes (GPU type, allocatable vs. requested by the pods on them) and each team's ResourceQuota
// status; for a team's members a job's pods and Kubernetes events, a deployment's pods, rollout and HPA. On the
// local backend there is no cluster and each answers so (`backend: "local"`). A cluster that cannot be read is
// an `error` in the answer (what the API said), never a failed page.
import { CoreV1Api } from "@kubernetes/client-node";
import type { CoreV1Event, V1Pod , KubeConfig } from "@kubernetes/client-node";
import { denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { env } from "../env";
import { loadDeployment } from "../deployments/service";
import { loadJob } from "../jobs/service";
import { parseQuantity, quotaAmounts } from "../tenants/quantity";
import { k8sCall } from "./k8s-api";
import { JOB_NAME_LABEL, LABELS, jobName, namespaceFor } from "./k8s-manifest";
import type { Amounts, ClusterOverview, DeploymentKubernetes, EventView, JobKubernetes, PodView } from "@/lib/schemas/kubernetes-view";
import { observeServing } from "./k8s-serving";
import { SERVING_LABELS, servingName } from "./k8s-serving-manifest";
import { defaultKubeConfig } from "./kubernetes";

/** The GPU type label KWOK's and most clusters' GPU nodes carry (also what jobs' nodeSelector names). */
const GPU_TYPE_LABEL = "gpu-type";
const GIB = 2 ** 30;
const round = (n: number) => Math.round(n * 1000) / 1000;
const none = (): Amounts => ({ cpu: 0, memory_gib: 0, gpus: 0, pods: 0 });

let cached: KubeConfig | null = null;
/** The kubeconfig Cairn runs with (KUBECONFIG, ~/.kube/config, or in-cluster), read once per process. */
function kubeConfig(): KubeConfig {
  return (cached ??= defaultKubeConfig());
}

function amounts(q: Record<string, string> | undefined): Amounts {
  const get = (k: string) => (q?.[k] === undefined ? 0 : parseQuantity(q[k]!));
  return { cpu: round(get("cpu")), memory_gib: round(get("memory") / GIB), gpus: round(get("nvidia.com/gpu")), pods: round(get("pods")) };
}

/** A ResourceQuota's hard or used amounts (Cairn's quotas bound requests, and pods). */
const quota = (q: Record<string, string> | undefined): Amounts => quotaAmounts(q) ?? none();

/** A pod's effective request (the larger of its containers' sum and any one init container), as the scheduler counts it. */
function podRequest(pod: V1Pod): Amounts {
  const sum = none();
  const of = (r: Record<string, string> | undefined) => amounts(r);
  for (const c of pod.spec?.containers ?? []) {
    const r = of(c.resources?.requests as Record<string, string> | undefined);
    sum.cpu += r.cpu; sum.memory_gib += r.memory_gib; sum.gpus += r.gpus;
  }
  for (const c of pod.spec?.initContainers ?? []) {
    const r = of(c.resources?.requests as Record<string, string> | undefined);
    sum.cpu = Math.max(sum.cpu, r.cpu); sum.memory_gib = Math.max(sum.memory_gib, r.memory_gib); sum.gpus = Math.max(sum.gpus, r.gpus);
  }
  return { ...sum, pods: 1 };
}

function podView(pod: V1Pod): PodView {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const waiting = statuses.map((s) => s.state?.waiting ?? s.state?.terminated).find((s) => s?.reason && s.reason !== "Completed");
  const unscheduled = pod.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
  return {
    name: pod.metadata?.name ?? "",
    phase: pod.status?.phase ?? "Unknown",
    node: pod.spec?.nodeName ?? null,
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    restarts: (pod.status?.containerStatuses ?? []).reduce((n, s) => n + (s.restartCount ?? 0), 0),
    started_at: pod.status?.startTime ? new Date(pod.status.startTime).toISOString() : null,
    reason: waiting?.reason ?? unscheduled?.reason ?? pod.status?.reason ?? null,
    message: waiting?.message ?? unscheduled?.message ?? pod.status?.message ?? null,
  };
}

function eventView(e: CoreV1Event): EventView {
  const at = e.lastTimestamp ?? e.eventTime ?? e.firstTimestamp ?? e.metadata?.creationTimestamp;
  return {
    at: at ? new Date(at).toISOString() : null, type: e.type ?? "Normal", reason: e.reason ?? "", object: `${e.involvedObject?.kind ?? ""}/${e.involvedObject?.name ?? ""}`,
    message: e.message ?? "", count: e.count ?? 1,
  };
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Events about the named objects in the namespace, newest first (at most 50). */
async function eventsAbout(core: CoreV1Api, namespace: string, names: Set<string>): Promise<EventView[]> {
  const list = await k8sCall(`list Events in ${namespace}`, () => core.listNamespacedEvent({ namespace }));
  return list.items
    .filter((e) => names.has(e.involvedObject?.name ?? ""))
    .map(eventView)
    .sort((a, b) => (b.at ?? "").localeCompare(a.at ?? ""))
    .slice(0, 50);
}

/** Admins: the nodes and every team namespace's ResourceQuota, as the API server reports them now. */
export async function clusterOverview(ctx: Ctx): Promise<ClusterOverview> {
  // Platform-wide, so refused as forbidden (not "not found": there is nothing team-scoped to hide).
  if (!can(ctx.actor, "manage_platform")) throw await denied(ctx, { action: "cluster.read", target: "cluster", mode: "write", message: "Only platform admins see the cluster." });
  if (env().computeBackend !== "kubernetes") return { backend: "local" };
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  const server = kc.getCurrentCluster()?.server ?? "";
  try {
    const [nodes, pods, quotas] = await Promise.all([
      k8sCall("list Nodes", () => core.listNode({})),
      k8sCall("list Pods", () => core.listPodForAllNamespaces({ fieldSelector: "status.phase!=Succeeded,status.phase!=Failed" })),
      k8sCall("list ResourceQuotas", () => core.listResourceQuotaForAllNamespaces({ labelSelector: "app.kubernetes.io/managed-by=cairn" })),
    ]);
    const requested = new Map<string, Amounts>();
    for (const pod of pods.items) {
      const node = pod.spec?.nodeName;
      if (!node) continue;
      const r = podRequest(pod);
      const sum = requested.get(node) ?? none();
      requested.set(node, { cpu: sum.cpu + r.cpu, memory_gib: sum.memory_gib + r.memory_gib, gpus: sum.gpus + r.gpus, pods: sum.pods + 1 });
    }
    return {
      backend: "kubernetes", server, error: null,
      nodes: nodes.items.map((n) => {
        const r = requested.get(n.metadata!.name!) ?? none();
        return {
          name: n.metadata!.name!, ready: n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
          gpu_type: n.metadata?.labels?.[GPU_TYPE_LABEL] ?? null, unschedulable: Boolean(n.spec?.unschedulable),
          allocatable: amounts(n.status?.allocatable), requested: { cpu: round(r.cpu), memory_gib: round(r.memory_gib), gpus: round(r.gpus), pods: r.pods }, pods: r.pods,
        };
      }).sort((a, b) => (a.gpu_type ?? "").localeCompare(b.gpu_type ?? "") || a.name.localeCompare(b.name)),
      quotas: quotas.items
        .map((q) => ({ namespace: q.metadata!.namespace!, team: q.metadata!.namespace!.replace(/^cairn-/, ""), hard: quota(q.status?.hard), used: quota(q.status?.used) }))
        .sort((a, b) => a.team.localeCompare(b.team)),
    };
  } catch (err) {
    return { backend: "kubernetes", server, nodes: [], quotas: [], error: errorText(err) };
  }
}

/** A job's pods (every attempt) and the Kubernetes events about them and its Jobs. */
export async function jobKubernetes(ctx: Ctx, jobId: string): Promise<JobKubernetes> {
  const job = await loadJob(ctx, jobId, { mode: "read" });
  if (env().computeBackend !== "kubernetes") return { backend: "local" };
  const namespace = namespaceFor(job.team);
  const name = jobName(job.id, Math.max(1, job.attempt));
  const core = kubeConfig().makeApiClient(CoreV1Api);
  try {
    const pods = await k8sCall(`list Pods in ${namespace}`, () => core.listNamespacedPod({ namespace, labelSelector: `${LABELS.job}=${job.id}` }));
    const names = new Set([...pods.items.map((p) => p.metadata?.name ?? ""), ...pods.items.map((p) => p.metadata?.labels?.[JOB_NAME_LABEL] ?? "")]);
    for (let attempt = 1; attempt <= Math.max(1, job.attempt); attempt++) names.add(jobName(job.id, attempt));
    return { backend: "kubernetes", namespace, job: name, pods: pods.items.map(podView), events: await eventsAbout(core, namespace, names), error: null };
  } catch (err) {
    return { backend: "kubernetes", namespace, job: name, pods: [], events: [], error: errorText(err) };
  }
}

/** A deployment's pods, rollout and HPA state, and the events about its objects. */
export async function deploymentKubernetes(ctx: Ctx, id: string): Promise<DeploymentKubernetes> {
  const d = await loadDeployment(ctx, id, { mode: "read" });
  if (d.backend !== "kubernetes" || env().computeBackend !== "kubernetes") return { backend: "local" };
  const namespace = namespaceFor(d.team);
  const name = servingName(d.id);
  const kc = kubeConfig();
  const core = kc.makeApiClient(CoreV1Api);
  try {
    const [rollout, pods] = await Promise.all([
      observeServing(kc, { deploymentId: d.id, team: d.team, autoScale: d.autoScale }),
      k8sCall(`list Pods in ${namespace}`, () => core.listNamespacedPod({ namespace, labelSelector: `${SERVING_LABELS.deployment}=${d.id}` })),
    ]);
    const names = new Set([name, ...pods.items.map((p) => p.metadata?.name ?? ""), ...pods.items.map((p) => p.metadata?.ownerReferences?.[0]?.name ?? "")]);
    return { backend: "kubernetes", namespace, name, rollout: rollout.missing ? null : rollout, pods: pods.items.map(podView), events: await eventsAbout(core, namespace, names), error: null };
  } catch (err) {
    return { backend: "kubernetes", namespace, name, rollout: null, pods: [], events: [], error: errorText(err) };
  }
}
