// The Kubernetes objects a team (tenant) maps to, built only from its slug and quota: its namespace
// (cairn-<slug>), a ResourceQuota mirroring the team's quota, a LimitRange for per-container bounds, a
// Role and RoleBinding letting Cairn's service account run workloads there, and — when the cluster has
// Kueue — a LocalQueue. Quantities are written in Kubernetes' canonical forms ("500m", "64Gi").
import type { LimitRangeSpec } from "@/db/schema";
import type { QuotaDto } from "@/lib/schemas/teams";
import { LABELS, LOCAL_QUEUE_NAME, MANAGED_BY, namespaceFor } from "../compute/k8s-manifest";

export { LOCAL_QUEUE_NAME };

export const QUOTA_NAME = "cairn-quota";
export const LIMITS_NAME = "cairn-limits";
export const ROLE_NAME = "cairn-workloads";
export const MODEL_POLICY_NAME = "cairn-model-servers";
/** The ClusterQueue every team's LocalQueue points at (the cluster admin creates it with Kueue's cohort and flavors). */
export const CLUSTER_QUEUE_NAME = "cairn";

export type Kind = "Namespace" | "ResourceQuota" | "LimitRange" | "Role" | "RoleBinding" | "LocalQueue" | "NetworkPolicy";

/**
 * One object the sync keeps in place. `owned` names the fields Cairn owns (dotted paths, compared and
 * replaced); a difference under one of `immutable` (fields the API server refuses to change) is repaired by
 * deleting and creating the object.
 */
export type Desired = { kind: Kind; name: string; namespace: string | null; body: Record<string, unknown> & { metadata: Meta }; owned: string[]; immutable?: string[] };
type Meta = { name: string; namespace?: string; labels: Record<string, string> };

/** "2", "500m" */
export function cpuQuantity(cores: number): string {
  return Number.isInteger(cores) ? String(cores) : `${Math.round(cores * 1000)}m`;
}

/** "64Gi", "1536Mi" */
export function memoryQuantity(gib: number): string {
  return Number.isInteger(gib) ? `${gib}Gi` : `${Math.round(gib * 1024)}Mi`;
}

/** A service account named as Kubernetes' user name (system:serviceaccount:<namespace>:<name>). */
export function serviceAccountSubject(user: string): { kind: "ServiceAccount"; name: string; namespace: string } {
  const m = /^system:serviceaccount:([a-z0-9]([-a-z0-9]*[a-z0-9])?):([a-z0-9]([-a-z0-9.]*[a-z0-9])?)$/.exec(user);
  if (!m) throw new Error(`CAIRN_K8S_SERVICE_ACCOUNT must look like system:serviceaccount:<namespace>:<name>, not "${user}"`);
  return { kind: "ServiceAccount", namespace: m[1]!, name: m[3]! };
}

export type TenantInput = { slug: string; quota: QuotaDto; limitRange: LimitRangeSpec | null };
export type TenantOptions = { serviceAccount: string; kueue: boolean };

export function quotaHard(quota: QuotaDto): Record<string, string> {
  return {
    "requests.cpu": cpuQuantity(quota.cpu),
    "requests.memory": memoryQuantity(quota.memory_gib),
    "requests.nvidia.com/gpu": String(quota.gpus),
    // A job is one pod at a time; every model replica is a pod: the team's own two limits, added up.
    pods: String(quota.max_concurrent_jobs + quota.max_replicas),
    // Tenants get no volumes or load balancers of their own: artifacts go through Cairn, serving through its gateway.
    persistentvolumeclaims: "0",
    "services.loadbalancers": "0",
  };
}

function resources(r: { cpu?: number; memory_gib?: number } | undefined): Record<string, string> | undefined {
  if (!r) return undefined;
  const out: Record<string, string> = {};
  if (r.cpu !== undefined) out.cpu = cpuQuantity(r.cpu);
  if (r.memory_gib !== undefined) out.memory = memoryQuantity(r.memory_gib);
  return Object.keys(out).length ? out : undefined;
}

/**
 * The LimitRange item as the API server stores it: its defaulting (SetDefaults_LimitRangeItem) fills a
 * missing default limit from max, then a missing default request from the default limit, then from min.
 * Writing the filled-in form keeps the sync from seeing that defaulting as drift on every pass.
 */
export function limitRangeItem(spec: LimitRangeSpec): Record<string, unknown> | null {
  const min = resources(spec.min) ?? {}, max = resources(spec.max) ?? {}, request = resources(spec.default_request) ?? {};
  if (!Object.keys(min).length && !Object.keys(max).length && !Object.keys(request).length) return null;
  // Cairn sets limits = requests, so the default limit is the default request where one is given.
  const limit: Record<string, string> = { ...request };
  for (const [k, v] of Object.entries(max)) limit[k] ??= v;
  for (const [k, v] of Object.entries(limit)) request[k] ??= v;
  for (const [k, v] of Object.entries(min)) request[k] ??= v;
  const item: Record<string, unknown> = { type: "Container" };
  if (Object.keys(min).length) item.min = min;
  if (Object.keys(max).length) item.max = max;
  if (Object.keys(limit).length) item.default = limit;
  if (Object.keys(request).length) item.defaultRequest = request;
  return item;
}

/** Everything the team's namespace should hold, in creation order (the namespace first). */
export function desiredObjects(t: TenantInput, opts: TenantOptions): Desired[] {
  const namespace = namespaceFor(t.slug);
  const labels = { [MANAGED_BY]: "cairn", [LABELS.team]: t.slug };
  const meta = (name: string): Meta => ({ name, namespace, labels });
  const out: Desired[] = [
    { kind: "Namespace", name: namespace, namespace: null, owned: [], body: { apiVersion: "v1", kind: "Namespace", metadata: { name: namespace, labels } } },
    {
      kind: "ResourceQuota", name: QUOTA_NAME, namespace, owned: ["spec"],
      body: { apiVersion: "v1", kind: "ResourceQuota", metadata: meta(QUOTA_NAME), spec: { hard: quotaHard(t.quota) } },
    },
  ];
  const item = t.limitRange ? limitRangeItem(t.limitRange) : null;
  if (item) out.push({ kind: "LimitRange", name: LIMITS_NAME, namespace, owned: ["spec"], body: { apiVersion: "v1", kind: "LimitRange", metadata: meta(LIMITS_NAME), spec: { limits: [item] } } });
  out.push(
    {
      kind: "Role", name: ROLE_NAME, namespace, owned: ["rules"],
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", metadata: meta(ROLE_NAME),
        // What the kubernetes executor and the model server need in the namespace, and nothing cluster-wide.
        rules: [
          { apiGroups: ["batch"], resources: ["jobs"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          { apiGroups: [""], resources: ["pods", "pods/log", "events"], verbs: ["get", "list", "watch"] },
          { apiGroups: [""], resources: ["secrets", "services"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          { apiGroups: ["autoscaling"], resources: ["horizontalpodautoscalers"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
          // The gateway reaches a deployment's Service through the API server when CAIRN_K8S_SERVING_ROUTE=proxy.
          { apiGroups: [""], resources: ["services/proxy"], verbs: ["get", "create"] },
        ],
      },
    },
    {
      kind: "RoleBinding", name: ROLE_NAME, namespace, owned: ["roleRef", "subjects"], immutable: ["roleRef"],
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", metadata: meta(ROLE_NAME),
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: ROLE_NAME },
        subjects: [serviceAccountSubject(opts.serviceAccount)],
      },
    },
  );
  // A team's model servers answer Cairn's gateway only: no pod of another namespace (another team's job) reaches them.
  // (The pods also refuse requests without their deployment's replica secret, where the network plugin enforces no policy.)
  out.push({
    kind: "NetworkPolicy", name: MODEL_POLICY_NAME, namespace, owned: ["spec"],
    body: {
      apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: meta(MODEL_POLICY_NAME),
      spec: {
        podSelector: { matchLabels: { "cairn.dev/component": "model-server" } },
        policyTypes: ["Ingress"],
        ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": serviceAccountSubject(opts.serviceAccount).namespace } } }], ports: [{ protocol: "TCP", port: 8080 }] }],
      },
    },
  });
  if (opts.kueue) {
    out.push({
      // Only clusterQueue is Cairn's (Kueue defaults the rest, e.g. stopPolicy), and Kueue refuses to change it.
      kind: "LocalQueue", name: LOCAL_QUEUE_NAME, namespace, owned: ["spec.clusterQueue"], immutable: ["spec.clusterQueue"],
      body: { apiVersion: "kueue.x-k8s.io/v1beta1", kind: "LocalQueue", metadata: meta(LOCAL_QUEUE_NAME), spec: { clusterQueue: CLUSTER_QUEUE_NAME } },
    });
  }
  return out;
}
