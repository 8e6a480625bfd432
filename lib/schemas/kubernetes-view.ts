// What the portal and the API show of Kubernetes (server/compute/cluster-view.ts reads it from the API server).

/** A deployment's rollout as the API server reports it. */
export type ServingObservation = {
  /** No Deployment object exists (never applied, or deleted out of band). */
  missing: boolean;
  /** The controller has seen the newest spec (status.observedGeneration ≥ metadata.generation). */
  observed: boolean;
  desired: number;
  updated: number;
  available: number;
  ready: number;
  /** Set when the rollout cannot finish (Progressing=False, e.g. ProgressDeadlineExceeded): why. */
  failure: string | null;
  /** Set while the controller cannot create pods (ReplicaFailure, e.g. the namespace's quota): it keeps trying. */
  blocked: string | null;
  /** The HPA's last word, when the deployment autoscales. */
  hpa: { current: number; desired: number; conditions: { type: string; status: string; reason: string; message: string }[] } | null;
};

export type Amounts = { cpu: number; memory_gib: number; gpus: number; pods: number };
export type NodeView = { name: string; ready: boolean; gpu_type: string | null; allocatable: Amounts; requested: Amounts; pods: number; unschedulable: boolean };
export type QuotaView = { team: string; namespace: string; hard: Amounts; used: Amounts };
export type ClusterOverview =
  | { backend: "local" }
  | { backend: "kubernetes"; server: string; nodes: NodeView[]; quotas: QuotaView[]; error: string | null };
export type PodView = {
  name: string; phase: string; node: string | null; ready: boolean; restarts: number; started_at: string | null;
  /** Why a container is not running (ImagePullBackOff, CrashLoopBackOff, Completed…) or the pod's own reason (Unschedulable…). */
  reason: string | null; message: string | null;
};
export type EventView = { at: string | null; type: string; reason: string; object: string; message: string; count: number };
export type JobKubernetes = { backend: "local" } | { backend: "kubernetes"; namespace: string; job: string; pods: PodView[]; events: EventView[]; error: string | null };
export type DeploymentKubernetes =
  | { backend: "local" }
  | { backend: "kubernetes"; namespace: string; name: string; rollout: ServingObservation | null; pods: PodView[]; events: EventView[]; error: string | null };
