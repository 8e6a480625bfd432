// The Kubernetes objects of one model deployment, built only from Cairn's deployment row: a Deployment of
// model-server pods (an init container downloads the pinned model from Cairn and checks its SHA-256 before
// the server starts), a ClusterIP Service in front of them, an autoscaling/v2 HorizontalPodAutoscaler when
// the deploy asked for autoscaling, and a Secret with the download token, owned by the Deployment. Namespace,
// security context and service account are written here, fixed: nothing a user submits chooses them.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { V1Container, V1Deployment, V1Secret, V1SecurityContext, V1Service, V2HorizontalPodAutoscaler } from "@kubernetes/client-node";
import { cpuQuantity, MANAGED_BY, memoryQuantity, namespaceFor } from "./k8s-manifest";

export const SERVING_LABELS = {
  team: "cairn.dev/team",
  deployment: "cairn.dev/deployment",
  component: "cairn.dev/component",
  environment: "cairn.dev/environment",
  version: "cairn.dev/model-version",
} as const;
/** The component label's value on every serving object (jobs' objects carry none). */
export const SERVING_COMPONENT = "model-server";
/** The hash of what the objects were built from: a different one means the spec changed and the objects are replaced. */
export const SPEC_HASH_ANNOTATION = "cairn.dev/spec-hash";
export const MODEL_NAME_ANNOTATION = "cairn.dev/model-name";
export const SERVER_CONTAINER = "model-server";
export const FETCH_MODEL_CONTAINER = "fetch-model";
export const SERVING_PORT = 8080;
/** The Pods metric the HPA scales on: requests in flight per pod (served by a Prometheus adapter as custom.metrics.k8s.io). */
export const INFLIGHT_METRIC = "cairn_model_requests_in_flight";
const RUN_AS = 1000;
const MODEL_DIR = "/model";

export type ServingSpec = {
  deploymentId: string;
  team: string;
  modelName: string;
  version: number;
  environment: "staging" | "production";
  replicas: number;
  autoScale: boolean;
  minReplicas: number;
  maxReplicas: number;
  targetConcurrency: number;
  /** The pinned SHA-256 of the model file: the init container refuses any other bytes. */
  modelSha256: string;
};

export type ServingOptions = {
  image: string;
  fetchImage: string;
  /** Cairn's base URL as pods reach it: the init container downloads GET {cairnUrl}/api/v1/deployments/{id}/model. */
  cairnUrl: string;
  cpu: number;
  memoryGib: number;
  /** Signs the per-deployment download token (the platform's auth secret). */
  signingKey: string;
};

/** Deterministic per deployment, so a new leader finds (and adopts) the objects an earlier one made. */
export function servingName(deploymentId: string): string {
  const hex = deploymentId.toLowerCase().replace(/[^0-9a-f]/g, "");
  if (hex.length < 12) throw new Error(`cannot derive a Kubernetes name from deployment ${deploymentId}`);
  return `cairn-model-${hex.slice(0, 12)}`;
}

/** The Secret beside the Deployment: the model download token and the replica secret. */
export function modelTokenSecretName(deploymentId: string): string {
  return `${servingName(deploymentId)}-secrets`;
}

/** Every request the gateway sends a deployment's pods carries this in x-cairn-replica-secret (other pods do not know it). */
export function replicaSecret(key: string, deploymentId: string): string {
  return createHmac("sha256", key).update(`deployment-replica\n${deploymentId}`).digest("base64url");
}

/**
 * The token an init container presents to download a deployment's model: an HMAC of the deployment and its
 * pinned hash under the platform's secret. It opens that one file of that one deployment, nothing else.
 */
export function modelDownloadToken(key: string, deploymentId: string, modelSha256: string): string {
  return `cdm_${createHmac("sha256", key).update(`deployment-model\n${deploymentId}\n${modelSha256}`).digest("base64url")}`;
}

export function validModelDownloadToken(key: string, deploymentId: string, modelSha256: string, presented: string): boolean {
  const expected = Buffer.from(modelDownloadToken(key, deploymentId, modelSha256));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function labels(spec: ServingSpec): Record<string, string> {
  return {
    [MANAGED_BY]: "cairn",
    [SERVING_LABELS.component]: SERVING_COMPONENT,
    [SERVING_LABELS.team]: spec.team,
    [SERVING_LABELS.deployment]: spec.deploymentId,
    [SERVING_LABELS.environment]: spec.environment,
    [SERVING_LABELS.version]: String(spec.version),
  };
}

/** The pod selector: one deployment's pods, whatever else their labels say. */
export function podSelector(deploymentId: string): Record<string, string> {
  return { [SERVING_LABELS.component]: SERVING_COMPONENT, [SERVING_LABELS.deployment]: deploymentId };
}

/**
 * What the Deployment is built from. Its replica count counts only without an HPA (with one, the HPA owns it), and
 * the HPA's bounds and target not at all (the HPA object is compared on its own).
 */
export function specHash(spec: ServingSpec, opts: Pick<ServingOptions, "image" | "fetchImage" | "cairnUrl" | "cpu" | "memoryGib">): string {
  const shape = {
    deploymentId: spec.deploymentId, team: spec.team, modelName: spec.modelName, version: spec.version, environment: spec.environment, modelSha256: spec.modelSha256,
    autoScale: spec.autoScale, replicas: spec.autoScale ? null : spec.replicas,
    image: opts.image, fetchImage: opts.fetchImage, cairnUrl: opts.cairnUrl, cpu: opts.cpu, memoryGib: opts.memoryGib,
  };
  return createHash("sha256").update(JSON.stringify(shape)).digest("hex").slice(0, 32);
}

const security: V1SecurityContext = { allowPrivilegeEscalation: false, privileged: false, runAsNonRoot: true, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } };

export function buildServingDeployment(spec: ServingSpec, opts: ServingOptions, replicas: number): V1Deployment {
  const name = servingName(spec.deploymentId);
  const namespace = namespaceFor(spec.team);
  const amounts = { cpu: cpuQuantity(opts.cpu), memory: memoryQuantity(opts.memoryGib) };
  const volume = [{ name: "model", mountPath: MODEL_DIR }];
  const url = `${opts.cairnUrl.replace(/\/+$/, "")}/api/v1/deployments/${spec.deploymentId}/model`;
  const fetch: V1Container = {
    name: FETCH_MODEL_CONTAINER,
    image: opts.fetchImage,
    command: ["sh", "-c", 'set -eu; curl -fsS --retry 5 --retry-connrefused -H "Authorization: Bearer ${CAIRN_MODEL_TOKEN}" -o /model/model.onnx "$CAIRN_MODEL_URL"; echo "${CAIRN_MODEL_SHA256}  /model/model.onnx" | sha256sum -c -'],
    env: [
      { name: "CAIRN_MODEL_URL", value: url },
      { name: "CAIRN_MODEL_SHA256", value: spec.modelSha256 },
      { name: "CAIRN_MODEL_TOKEN", valueFrom: { secretKeyRef: { name: modelTokenSecretName(spec.deploymentId), key: "token" } } },
    ],
    resources: { requests: { ...amounts }, limits: { ...amounts } },
    securityContext: security,
    volumeMounts: volume,
  };
  const probe = (path: string) => ({ httpGet: { path, port: SERVING_PORT }, periodSeconds: 5, timeoutSeconds: 2 });
  const server: V1Container = {
    name: SERVER_CONTAINER,
    image: opts.image,
    args: ["--model", `${MODEL_DIR}/model.onnx`, "--name", spec.modelName, "--version", String(spec.version), "--host", "0.0.0.0", "--port", String(SERVING_PORT), "--secret-env", "CAIRN_REPLICA_SECRET"],
    env: [{ name: "CAIRN_REPLICA_SECRET", valueFrom: { secretKeyRef: { name: modelTokenSecretName(spec.deploymentId), key: "replica-secret" } } }],
    ports: [{ name: "http", containerPort: SERVING_PORT }],
    resources: { requests: { ...amounts }, limits: { ...amounts } },
    readinessProbe: probe("/v2/health/ready"),
    livenessProbe: { ...probe("/v2/health/live"), initialDelaySeconds: 10 },
    securityContext: security,
    volumeMounts: volume.map((v) => ({ ...v, readOnly: true })),
  };
  const podLabels = labels(spec);
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace, labels: podLabels, annotations: { [SPEC_HASH_ANNOTATION]: specHash(spec, opts), [MODEL_NAME_ANNOTATION]: spec.modelName } },
    spec: {
      replicas,
      selector: { matchLabels: podSelector(spec.deploymentId) },
      // New pods serve before old ones stop: a rollout of the same deployment never drops below its size.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      progressDeadlineSeconds: 600,
      revisionHistoryLimit: 2,
      template: {
        metadata: { labels: podLabels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { runAsNonRoot: true, runAsUser: RUN_AS, runAsGroup: RUN_AS, fsGroup: RUN_AS, seccompProfile: { type: "RuntimeDefault" } },
          initContainers: [fetch],
          containers: [server],
          volumes: [{ name: "model", emptyDir: {} }],
        },
      },
    },
  };
}

export function buildServingService(spec: ServingSpec): V1Service {
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { name: servingName(spec.deploymentId), namespace: namespaceFor(spec.team), labels: labels(spec) },
    spec: { type: "ClusterIP", selector: podSelector(spec.deploymentId), ports: [{ name: "http", port: 80, targetPort: SERVING_PORT as never, protocol: "TCP" }] },
  };
}

/** Scales on requests in flight per pod (the deploy's target_concurrency), between its bounds. */
export function buildServingHpa(spec: ServingSpec): V2HorizontalPodAutoscaler {
  const name = servingName(spec.deploymentId);
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: { name, namespace: namespaceFor(spec.team), labels: labels(spec) },
    spec: {
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name },
      minReplicas: Math.max(1, spec.minReplicas),
      maxReplicas: Math.max(1, spec.maxReplicas),
      metrics: [{ type: "Pods", pods: { metric: { name: INFLIGHT_METRIC }, target: { type: "AverageValue", averageValue: String(spec.targetConcurrency) as never } } }],
      behavior: { scaleDown: { stabilizationWindowSeconds: 60 } },
    },
  };
}

export function secretData(spec: Pick<ServingSpec, "deploymentId" | "modelSha256">, opts: Pick<ServingOptions, "signingKey">): Record<string, string> {
  return { token: modelDownloadToken(opts.signingKey, spec.deploymentId, spec.modelSha256), "replica-secret": replicaSecret(opts.signingKey, spec.deploymentId) };
}

/** The download token and the replica secret, owned by the Deployment so they go with it. */
export function buildModelTokenSecret(spec: ServingSpec, opts: Pick<ServingOptions, "signingKey">, owner: { name: string; uid: string }): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: modelTokenSecretName(spec.deploymentId),
      namespace: namespaceFor(spec.team),
      labels: labels(spec),
      ownerReferences: [{ apiVersion: "apps/v1", kind: "Deployment", name: owner.name, uid: owner.uid, controller: false, blockOwnerDeletion: false }],
    },
    stringData: secretData(spec, opts),
  };
}
