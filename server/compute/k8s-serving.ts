// Serving on Kubernetes: the deployment reconciler's side of the API. `apply` makes a deployment's objects
// (k8s-serving-manifest.ts) exist as its row says — created when missing, replaced when the row changed (the
// spec hash differs), left alone otherwise (an HPA's replica count is the HPA's); `observe` reads the rollout
// (observedGeneration, available/updated replicas, conditions) and the HPA's state; `remove` deletes them.
// Every call runs through k8sCall: a refusal is the API server's message, an outage says so.
import { AppsV1Api, AutoscalingV2Api, CoreV1Api } from "@kubernetes/client-node";
import type { KubeConfig, V1Deployment, V1DeploymentCondition } from "@kubernetes/client-node";
import { hasStatus, k8sCall } from "./k8s-api";
import { MANAGED_BY, namespaceFor } from "./k8s-manifest";
import type { ServingOptions, ServingSpec } from "./k8s-serving-manifest";
import {
  buildModelTokenSecret, buildServingDeployment, buildServingHpa, buildServingService, modelTokenSecretName, secretData, SERVING_COMPONENT, SERVING_LABELS,
  servingName, SPEC_HASH_ANNOTATION, specHash,
} from "./k8s-serving-manifest";

import type { ServingObservation } from "@/lib/schemas/kubernetes-view";

export type { ServingObservation };

export type KubernetesServingOptions = ServingOptions & { kubeConfig: KubeConfig };

async function readDeployment(apps: AppsV1Api, namespace: string, name: string): Promise<V1Deployment | null> {
  try {
    return await k8sCall(`read Deployment ${namespace}/${name}`, () => apps.readNamespacedDeployment({ namespace, name }));
  } catch (err) {
    if (hasStatus(err, 404)) return null;
    throw err;
  }
}

async function observeWith(apps: AppsV1Api, autoscaling: AutoscalingV2Api, spec: Pick<ServingSpec, "deploymentId" | "team" | "autoScale">): Promise<ServingObservation> {
  const namespace = namespaceFor(spec.team);
  const name = servingName(spec.deploymentId);
  const d = await readDeployment(apps, namespace, name);
  if (!d) return { missing: true, observed: false, desired: 0, updated: 0, available: 0, ready: 0, failure: null, blocked: null, hpa: null };
  const conditions = d.status?.conditions ?? [];
  const progressing = conditions.find((c) => c.type === "Progressing");
  const failed = conditions.find((c) => c.type === "ReplicaFailure" && c.status === "True");
  let hpa: ServingObservation["hpa"] = null;
  if (spec.autoScale) {
    try {
      const h = await k8sCall(`read HorizontalPodAutoscaler ${namespace}/${name}`, () => autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name }));
      hpa = {
        current: h.status?.currentReplicas ?? 0, desired: h.status?.desiredReplicas ?? 0,
        conditions: (h.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason ?? "", message: c.message ?? "" })),
      };
    } catch (err) {
      if (!hasStatus(err, 404)) throw err;
    }
  }
  return {
    missing: false,
    observed: (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1),
    desired: d.spec?.replicas ?? 0,
    updated: d.status?.updatedReplicas ?? 0,
    available: d.status?.availableReplicas ?? 0,
    ready: d.status?.readyReplicas ?? 0,
    failure: progressing?.status === "False" ? text(progressing) : null,
    blocked: failed ? text(failed) : null,
    hpa,
  };
}

/** A deployment's rollout and HPA, read with `kubeConfig` (for views that only read). */
export function observeServing(kubeConfig: KubeConfig, spec: Pick<ServingSpec, "deploymentId" | "team" | "autoScale">): Promise<ServingObservation> {
  return observeWith(kubeConfig.makeApiClient(AppsV1Api), kubeConfig.makeApiClient(AutoscalingV2Api), spec);
}

const text = (c: V1DeploymentCondition | undefined) => (c ? `${c.reason ?? c.type}${c.message ? `: ${c.message}` : ""}` : "");

export class KubernetesServing {
  private readonly apps: AppsV1Api;
  private readonly core: CoreV1Api;
  private readonly autoscaling: AutoscalingV2Api;

  constructor(private readonly opts: KubernetesServingOptions) {
    this.apps = opts.kubeConfig.makeApiClient(AppsV1Api);
    this.core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.autoscaling = opts.kubeConfig.makeApiClient(AutoscalingV2Api);
  }

  /** Where the Service answers inside the cluster (cluster DNS). */
  serviceHost(spec: Pick<ServingSpec, "deploymentId" | "team">): string {
    return `${servingName(spec.deploymentId)}.${namespaceFor(spec.team)}.svc`;
  }

  /** Makes the deployment's objects match `spec`; resolves with what it did ("created", "updated" or "unchanged"). */
  async apply(spec: ServingSpec): Promise<"created" | "updated" | "unchanged"> {
    const namespace = namespaceFor(spec.team);
    const name = servingName(spec.deploymentId);
    const current = await readDeployment(this.apps, namespace, name);
    let action: "created" | "updated" | "unchanged" = "unchanged";
    let owner: { name: string; uid: string };
    if (!current) {
      const made = await k8sCall(`create Deployment ${namespace}/${name}`, () => this.apps.createNamespacedDeployment({ namespace, body: buildServingDeployment(spec, this.opts, spec.replicas) }));
      owner = { name, uid: made.metadata!.uid! };
      action = "created";
    } else {
      owner = { name, uid: current.metadata!.uid! };
      if (current.metadata?.annotations?.[SPEC_HASH_ANNOTATION] !== specHash(spec, this.opts)) {
        // With an HPA the live replica count is the HPA's; without one it is the row's.
        const replicas = spec.autoScale ? (current.spec?.replicas ?? spec.replicas) : spec.replicas;
        const body = buildServingDeployment(spec, this.opts, replicas);
        body.metadata!.resourceVersion = current.metadata!.resourceVersion;
        await k8sCall(`update Deployment ${namespace}/${name}`, () => this.apps.replaceNamespacedDeployment({ namespace, name, body }));
        action = "updated";
      }
    }
    await this.ensureSecret(spec, owner);
    await this.ensureService(spec);
    await this.ensureHpa(spec);
    return action;
  }

  private async ensureSecret(spec: ServingSpec, owner: { name: string; uid: string }): Promise<void> {
    const namespace = namespaceFor(spec.team);
    const name = modelTokenSecretName(spec.deploymentId);
    const body = buildModelTokenSecret(spec, this.opts, owner);
    try {
      const current = await k8sCall(`read Secret ${namespace}/${name}`, () => this.core.readNamespacedSecret({ namespace, name }));
      const want = secretData(spec, this.opts);
      const same = Object.entries(want).every(([k, v]) => current.data?.[k] === Buffer.from(v).toString("base64")) && Object.keys(current.data ?? {}).length === Object.keys(want).length;
      if (same && current.metadata?.ownerReferences?.[0]?.uid === owner.uid) return;
      body.metadata!.resourceVersion = current.metadata!.resourceVersion;
      await k8sCall(`update Secret ${namespace}/${name}`, () => this.core.replaceNamespacedSecret({ namespace, name, body }));
    } catch (err) {
      if (!hasStatus(err, 404)) throw err;
      await k8sCall(`create Secret ${namespace}/${name}`, () => this.core.createNamespacedSecret({ namespace, body }));
    }
  }

  private async ensureService(spec: ServingSpec): Promise<void> {
    const namespace = namespaceFor(spec.team);
    const name = servingName(spec.deploymentId);
    try {
      await k8sCall(`read Service ${namespace}/${name}`, () => this.core.readNamespacedService({ namespace, name }));
    } catch (err) {
      if (!hasStatus(err, 404)) throw err;
      await k8sCall(`create Service ${namespace}/${name}`, () => this.core.createNamespacedService({ namespace, body: buildServingService(spec) }));
    }
  }

  private async ensureHpa(spec: ServingSpec): Promise<void> {
    const namespace = namespaceFor(spec.team);
    const name = servingName(spec.deploymentId);
    let current = null;
    try {
      current = await k8sCall(`read HorizontalPodAutoscaler ${namespace}/${name}`, () => this.autoscaling.readNamespacedHorizontalPodAutoscaler({ namespace, name }));
    } catch (err) {
      if (!hasStatus(err, 404)) throw err;
    }
    if (!spec.autoScale) {
      if (current) await this.deleteQuietly(`delete HorizontalPodAutoscaler ${namespace}/${name}`, () => this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ namespace, name }));
      return;
    }
    const body = buildServingHpa(spec);
    if (!current) {
      await k8sCall(`create HorizontalPodAutoscaler ${namespace}/${name}`, () => this.autoscaling.createNamespacedHorizontalPodAutoscaler({ namespace, body }));
      return;
    }
    const same = current.spec?.minReplicas === body.spec!.minReplicas && current.spec?.maxReplicas === body.spec!.maxReplicas
      && String(current.spec?.metrics?.[0]?.pods?.target?.averageValue) === String(body.spec!.metrics![0]!.pods!.target.averageValue);
    if (same) return;
    body.metadata!.resourceVersion = current.metadata!.resourceVersion;
    await k8sCall(`update HorizontalPodAutoscaler ${namespace}/${name}`, () => this.autoscaling.replaceNamespacedHorizontalPodAutoscaler({ namespace, name, body }));
  }

  private async deleteQuietly(what: string, call: () => Promise<unknown>): Promise<void> {
    try {
      await k8sCall(what, call);
    } catch (err) {
      if (!hasStatus(err, 404)) throw err;
    }
  }

  /** The rollout's state and the HPA's, as the API server stores them. */
  observe(spec: Pick<ServingSpec, "deploymentId" | "team" | "autoScale">): Promise<ServingObservation> {
    return observeWith(this.apps, this.autoscaling, spec);
  }

  /** The deployment ids Cairn serves in the team's namespace (its model Deployments, by label). */
  async servedIds(team: string): Promise<string[]> {
    const namespace = namespaceFor(team);
    const list = await k8sCall(`list Deployments in ${namespace}`, () => this.apps.listNamespacedDeployment({ namespace, labelSelector: `${MANAGED_BY}=cairn,${SERVING_LABELS.component}=${SERVING_COMPONENT}` }));
    return list.items.map((d) => d.metadata?.labels?.[SERVING_LABELS.deployment]).filter((id): id is string => Boolean(id));
  }

  /** Deletes the deployment's objects (its pods go with the Deployment, the Secret with its owner). */
  async remove(spec: Pick<ServingSpec, "deploymentId" | "team">): Promise<void> {
    const namespace = namespaceFor(spec.team);
    const name = servingName(spec.deploymentId);
    await this.deleteQuietly(`delete HorizontalPodAutoscaler ${namespace}/${name}`, () => this.autoscaling.deleteNamespacedHorizontalPodAutoscaler({ namespace, name }));
    await this.deleteQuietly(`delete Service ${namespace}/${name}`, () => this.core.deleteNamespacedService({ namespace, name }));
    await this.deleteQuietly(`delete Deployment ${namespace}/${name}`, () => this.apps.deleteNamespacedDeployment({ namespace, name, propagationPolicy: "Background" }));
    await this.deleteQuietly(`delete Secret ${namespace}/${modelTokenSecretName(spec.deploymentId)}`, () => this.core.deleteNamespacedSecret({ namespace, name: modelTokenSecretName(spec.deploymentId) }));
  }
}
