// Which executor runs jobs: the local one (child processes on this machine), or Kubernetes when
// CAIRN_COMPUTE_BACKEND=kubernetes (kubeconfig or in-cluster configuration).
import type { ComputeBackend } from "./backend";
import { LocalBackend } from "./local";

export function createBackend(kind: "local" | "kubernetes"): ComputeBackend {
  if (kind === "kubernetes") {
    throw new Error("The kubernetes executor is not built yet; unset CAIRN_COMPUTE_BACKEND to use the local executor.");
  }
  return new LocalBackend();
}
