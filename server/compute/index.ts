// Which executor runs jobs: the local one (child processes on this machine), or Kubernetes when
// CAIRN_COMPUTE_BACKEND=kubernetes (kubeconfig or in-cluster configuration).
import { env } from "../env";
import type { ComputeBackend } from "./backend";
import { defaultKubeConfig, KubernetesBackend } from "./kubernetes";
import { LocalBackend } from "./local";

export function createBackend(kind: "local" | "kubernetes"): ComputeBackend {
  if (kind === "kubernetes") {
    const k8s = env().kubernetes;
    return new KubernetesBackend({
      kubeConfig: defaultKubeConfig(),
      defaultImage: k8s.defaultImage,
      fetchImage: k8s.fetchImage,
      ttlSecondsAfterFinished: k8s.ttlSecondsAfterFinished,
      pollMs: k8s.eventPollMs,
      cairnUrl: env().trackingUrl,
    });
  }
  return new LocalBackend();
}
