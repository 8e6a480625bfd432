// The Kubernetes objects of one job attempt, built only from Cairn's LaunchSpec: a batch/v1 Job in the
// team's namespace and a Secret holding the job's credentials. Nothing a user submits can choose the
// namespace, the service account, host access or privileges — those fields are written here, fixed.
import type { V1Container, V1EnvVar, V1Job, V1Secret, V1SecurityContext } from "@kubernetes/client-node";
import type { LaunchSpec } from "./backend";

export const MANAGED_BY = "app.kubernetes.io/managed-by";
export const LABELS = {
  team: "cairn.dev/team",
  job: "cairn.dev/job",
  run: "cairn.dev/run",
  experiment: "cairn.dev/experiment",
  attempt: "cairn.dev/attempt",
} as const;
/** Set on pods by the job controller. */
export const JOB_NAME_LABEL = "batch.kubernetes.io/job-name";
/** A Job joins a Kueue LocalQueue by this label, created suspended; Kueue unsuspends it when admitted. */
export const KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name";
/** The LocalQueue the tenant sync makes in every team namespace when the cluster has Kueue. */
export const LOCAL_QUEUE_NAME = "cairn";
/** The node label a GPU job is pinned to: its instance type's GPU type ("nvidia-a100") must equal the node's. */
export const GPU_TYPE_LABEL = "gpu-type";
export const MAIN_CONTAINER = "main";
export const FETCH_CONTAINER = "fetch-code";
export const WORKSPACE = "/workspace";
/** Pods run as this user (the `node` user of the official Node images; any non-root uid works). */
const RUN_AS = 1000;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** Variables that only make sense on the Cairn host (the local executor's PATH, node_modules). */
const HOST_ONLY_ENV = new Set(["PATH", "NODE_PATH"]);
/** Variables kept out of the Job object (anyone who can read Jobs sees its env): they go to the Secret. */
const SENSITIVE_ENV = /(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|ACCESS_KEY|PRIVATE_KEY|CREDENTIALS?)$/i;

export type ManifestOptions = {
  defaultImage: string;
  fetchImage: string;
  ttlSecondsAfterFinished: number;
  /** Where the init container downloads the job's code (GET /api/v1/jobs/{id}/code), when it has a source. */
  codeUrl: string | null;
  /** The Kueue LocalQueue to join (the Job is created suspended), or null without Kueue. */
  queueName?: string | null;
  /** Annotations on the pod template, set by the operator (never by a user): e.g. a sidecar opt-out. */
  podAnnotations?: Record<string, string>;
};

export function namespaceFor(team: string): string {
  const ns = `cairn-${team}`;
  if (!DNS_LABEL.test(ns)) throw new Error(`team slug "${team}" does not make a valid namespace name`);
  return ns;
}

/** Deterministic per attempt, so a re-submit after a crash finds (and adopts) the same Job. */
export function jobName(jobId: string, attempt: number): string {
  const short = jobId.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 8);
  const name = `cairn-job-${short}-${attempt}`;
  if (!short || !DNS_LABEL.test(name)) throw new Error(`cannot derive a Kubernetes name from job ${jobId}`);
  return name;
}

export function secretName(job: string): string {
  return `${job}-env`;
}

export function labelsFor(spec: LaunchSpec): Record<string, string> {
  return {
    [MANAGED_BY]: "cairn",
    [LABELS.team]: spec.team,
    [LABELS.job]: spec.jobId,
    [LABELS.run]: spec.runId,
    [LABELS.experiment]: String(spec.experimentId),
    [LABELS.attempt]: String(spec.attempt),
  };
}

/** Kubernetes quantities: whole numbers stay whole ("2", "4Gi"), fractions go to the next smaller unit. */
export function cpuQuantity(cpu: number): string {
  return Number.isInteger(cpu) ? String(cpu) : `${Math.max(1, Math.round(cpu * 1000))}m`;
}

export function memoryQuantity(gib: number): string {
  return Number.isInteger(gib) ? `${gib}Gi` : `${Math.max(1, Math.round(gib * 1024))}Mi`;
}

function splitEnv(spec: LaunchSpec): { plain: Record<string, string>; secret: Record<string, string> } {
  const plain: Record<string, string> = {};
  const secret: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.env)) {
    if (HOST_ONLY_ENV.has(name)) continue;
    if (SENSITIVE_ENV.test(name)) secret[name] = value;
    else plain[name] = value;
  }
  plain.HOME = WORKSPACE;
  return { plain, secret };
}

const containerSecurity: V1SecurityContext = {
  allowPrivilegeEscalation: false,
  privileged: false,
  runAsNonRoot: true,
  capabilities: { drop: ["ALL"] },
};

export function buildJobManifest(spec: LaunchSpec, opts: ManifestOptions): V1Job {
  const name = jobName(spec.jobId, spec.attempt);
  const namespace = namespaceFor(spec.team);
  const labels = labelsFor(spec);
  const { plain, secret } = splitEnv(spec);
  const fromSecret = (envName: string, key: string): V1EnvVar => ({ name: envName, valueFrom: { secretKeyRef: { name: secretName(name), key } } });
  const env: V1EnvVar[] = [
    ...Object.entries(plain).map(([n, value]) => ({ name: n, value })),
    ...Object.keys(secret).map((n) => fromSecret(n, n)),
  ];
  const amounts: Record<string, string> = { cpu: cpuQuantity(spec.resources.cpu), memory: memoryQuantity(spec.resources.memoryGib) };
  if (spec.resources.gpus > 0) amounts["nvidia.com/gpu"] = String(spec.resources.gpus);
  const workspace = [{ name: "workspace", mountPath: WORKSPACE }];
  const main: V1Container = {
    name: MAIN_CONTAINER,
    image: spec.image ?? opts.defaultImage,
    command: spec.command,
    workingDir: WORKSPACE,
    env,
    resources: { requests: { ...amounts }, limits: { ...amounts } },
    securityContext: containerSecurity,
    volumeMounts: workspace,
  };
  const initContainers: V1Container[] = [];
  if (spec.source && opts.codeUrl) {
    // The same cpu/memory as the main container: a pod's effective request is the larger of the two,
    // so the fetch never asks the namespace quota for more than the job was admitted with.
    const fetchAmounts = { cpu: amounts.cpu!, memory: amounts.memory! };
    const token = "MLFLOW_TRACKING_TOKEN" in secret ? [fromSecret("CAIRN_JOB_TOKEN", "MLFLOW_TRACKING_TOKEN")] : [];
    initContainers.push({
      name: FETCH_CONTAINER,
      image: opts.fetchImage,
      command: ["sh", "-c", 'set -eu; curl -fsS --retry 5 --retry-connrefused -H "Authorization: Bearer ${CAIRN_JOB_TOKEN:-}" -o /workspace/.code.tar.gz "$CAIRN_CODE_URL"; tar -xzf /workspace/.code.tar.gz -C /workspace; rm -f /workspace/.code.tar.gz'],
      env: [{ name: "CAIRN_CODE_URL", value: opts.codeUrl }, ...token],
      resources: { requests: { ...fetchAmounts }, limits: { ...fetchAmounts } },
      securityContext: containerSecurity,
      volumeMounts: workspace,
    });
  }
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace, labels: opts.queueName ? { ...labels, [KUEUE_QUEUE_LABEL]: opts.queueName } : labels, annotations: { "cairn.dev/source": spec.source ?? "" } },
    spec: {
      ...(opts.queueName ? { suspend: true } : {}),
      backoffLimit: 0,
      activeDeadlineSeconds: Math.max(1, Math.floor(spec.maxRuntimeSeconds)),
      ttlSecondsAfterFinished: opts.ttlSecondsAfterFinished,
      completions: 1,
      parallelism: 1,
      template: {
        metadata: { labels, ...(opts.podAnnotations && Object.keys(opts.podAnnotations).length ? { annotations: { ...opts.podAnnotations } } : {}) },
        spec: {
          restartPolicy: "Never",
          // A GPU job runs only on a node with GPUs of the type it was admitted (and priced) for.
          ...(spec.resources.gpus > 0 && spec.resources.gpuType ? { nodeSelector: { [GPU_TYPE_LABEL]: spec.resources.gpuType } } : {}),
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: "RuntimeDefault" } },
          ...(initContainers.length ? { initContainers } : {}),
          containers: [main],
          volumes: [{ name: "workspace", emptyDir: {} }],
        },
      },
    },
  };
}

/** The job's credentials (its Cairn token and any secret-looking variable), owned by the Job so they go with it. */
export function buildSecretManifest(spec: LaunchSpec, owner: { name: string; uid: string }): V1Secret {
  const { secret } = splitEnv(spec);
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: secretName(owner.name),
      namespace: namespaceFor(spec.team),
      labels: labelsFor(spec),
      ownerReferences: [{ apiVersion: "batch/v1", kind: "Job", name: owner.name, uid: owner.uid, controller: false, blockOwnerDeletion: false }],
    },
    stringData: secret,
  };
}
