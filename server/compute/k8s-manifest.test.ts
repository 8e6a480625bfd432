// Nothing a user submits can reach the fields that decide where and with which powers a pod runs:
// the request schema refuses them, env names cannot carry them, and the Job built from whatever the
// schema accepts never contains them (checked on the manifest and by kubernetes-models).
import { Job } from "kubernetes-models/batch/v1/Job";
import { describe, expect, it } from "vitest";
import { trainJobSchema } from "@/lib/schemas/jobs";
import type { LaunchSpec } from "./backend";
import { buildJobManifest, cpuQuantity, jobName, memoryQuantity } from "./k8s-manifest";

const FORBIDDEN_KEYS = ["hostPath", "hostNetwork", "hostPID", "hostIPC", "serviceAccountName", "serviceAccount", "nodeName", "hostPort", "hostAliases", "shareProcessNamespace"];

function keysOf(value: unknown, out = new Map<string, unknown[]>()): Map<string, unknown[]> {
  if (Array.isArray(value)) for (const v of value) keysOf(v, out);
  else if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      out.set(k, [...(out.get(k) ?? []), v]);
      keysOf(v, out);
    }
  }
  return out;
}

function launch(input: Record<string, unknown>): LaunchSpec {
  const parsed = trainJobSchema.parse({ command: ["python", "train.py"], ...input });
  return {
    jobId: "0b5e7f0c-1d2e-4f00-9a55-7c1d2e3f4a5b", attempt: 2, team: "churn", runId: "a".repeat(32), experimentId: 3, image: parsed.image ?? null, source: null,
    command: parsed.command!, env: { ...parsed.env, MLFLOW_TRACKING_URI: "http://cairn:3000", MLFLOW_TRACKING_TOKEN: "cairn_x" }, workdir: "/tmp/w", logFile: "/tmp/w/log",
    maxRuntimeSeconds: parsed.max_runtime_seconds, resources: { cpu: 1, memoryGib: 2, gpus: 0, gpuType: null },
  };
}

const OPTS = { defaultImage: "node:20-slim", fetchImage: "curlimages/curl:8.11.1", ttlSecondsAfterFinished: 3600, codeUrl: null };

describe("what a user cannot set", () => {
  it("the request schema refuses pod-level fields, at the top and inside resources", () => {
    for (const smuggled of [
      { namespace: "kube-system" }, { serviceAccountName: "cluster-admin" }, { hostNetwork: true }, { privileged: true },
      { volumes: [{ name: "root", hostPath: { path: "/" } }] }, { securityContext: { runAsUser: 0 } }, { nodeName: "master-0" },
      { spec: { template: { spec: { hostPID: true } } } },
      { resources: { cpu: 1, memory_gib: 1, privileged: true } },
    ]) {
      const parsed = trainJobSchema.safeParse({ command: ["x"], ...smuggled });
      expect(parsed.success, JSON.stringify(smuggled)).toBe(false);
    }
  });

  it("env names that are not plain identifiers, or that Cairn sets, are refused", () => {
    for (const name of ["spec.hostNetwork", "securityContext.privileged", "a b", "X=Y", "metadata/namespace", "MLFLOW_TRACKING_TOKEN", "CAIRN_JOB_ID", "LD_PRELOAD"]) {
      expect(trainJobSchema.safeParse({ command: ["x"], env: { [name]: "true" } }).success, name).toBe(false);
    }
    expect(trainJobSchema.safeParse({ command: ["x"], image: "ubuntu --privileged" }).success).toBe(false);
  });

  it("whatever the schema accepts becomes a Job without host access, privileges, a service account or another namespace", () => {
    const spec = launch({
      image: "python:3.12-slim",
      command: ["sh", "-c", "echo hostNetwork: true; echo privileged", "--namespace=kube-system"],
      env: { hostNetwork: "true", serviceAccountName: "admin", NAMESPACE: "kube-system", YAML: "spec:\n  hostPID: true\nprivileged: true", API_KEY: "k" },
      max_runtime_seconds: 60,
    });
    const job = buildJobManifest(spec, OPTS);
    expect(() => new Job(job as never).validate()).not.toThrow();
    const keys = keysOf(job);
    for (const k of FORBIDDEN_KEYS) expect(keys.has(k), k).toBe(false);
    expect(keys.get("privileged")).toEqual([false]);
    expect(keys.get("allowPrivilegeEscalation")).toEqual([false]);
    expect(keys.get("automountServiceAccountToken")).toEqual([false]);
    expect(keys.get("namespace")).toEqual(["cairn-churn"]);
    expect(keys.get("runAsNonRoot")).toEqual([true, true]);
    // The user's values stay values: env entries and command arguments, nothing more.
    const env = job.spec!.template.spec!.containers[0]!.env!;
    expect(env).toContainEqual({ name: "hostNetwork", value: "true" });
    expect(env).toContainEqual({ name: "YAML", value: "spec:\n  hostPID: true\nprivileged: true" });
    // Secret-looking variables go by reference, not by value.
    expect(env).toContainEqual({ name: "API_KEY", valueFrom: { secretKeyRef: { name: "cairn-job-0b5e7f0c-2-env", key: "API_KEY" } } });
    expect(JSON.stringify(job)).not.toContain("cairn_x");
  });
});

describe("where it runs", () => {
  it("a GPU job is pinned to nodes of its GPU type; a CPU job (or a GPU type of none) is not pinned", () => {
    const base = launch({});
    const gpu = buildJobManifest({ ...base, resources: { cpu: 8, memoryGib: 32, gpus: 1, gpuType: "nvidia-t4" } }, OPTS);
    expect(gpu.spec!.template.spec!.nodeSelector).toEqual({ "gpu-type": "nvidia-t4" });
    expect(gpu.spec!.template.spec!.containers[0]!.resources!.limits).toMatchObject({ "nvidia.com/gpu": "1" });
    expect(() => new Job(gpu as never).validate()).not.toThrow();
    expect(buildJobManifest(base, OPTS).spec!.template.spec!.nodeSelector).toBeUndefined();
    expect(buildJobManifest({ ...base, resources: { cpu: 1, memoryGib: 1, gpus: 0, gpuType: "nvidia-t4" } }, OPTS).spec!.template.spec!.nodeSelector).toBeUndefined();
  });

  it("the operator's pod annotations go on the pod template only", () => {
    const job = buildJobManifest(launch({}), { ...OPTS, podAnnotations: { "sidecar.istio.io/inject": "false" } });
    expect(job.spec!.template.metadata!.annotations).toEqual({ "sidecar.istio.io/inject": "false" });
    expect(job.metadata!.annotations).not.toHaveProperty("sidecar.istio.io/inject");
    expect(buildJobManifest(launch({}), OPTS).spec!.template.metadata!.annotations).toBeUndefined();
  });
});

describe("names and quantities", () => {
  it("job names are DNS-1123 labels, one per job attempt", () => {
    expect(jobName("0B5E7F0C-1d2e-4f00-9a55-7c1d2e3f4a5b", 12)).toBe("cairn-job-0b5e7f0c-12");
    expect(jobName("0b5e7f0c-1d2e-4f00-9a55-7c1d2e3f4a5b", 1)).not.toBe(jobName("0b5e7f0c-1d2e-4f00-9a55-7c1d2e3f4a5b", 2));
    expect(() => jobName("----", 1)).toThrow();
  });

  it("quantities are exact: whole numbers as they are, fractions in milli-CPU and MiB", () => {
    expect([cpuQuantity(2), cpuQuantity(0.5), cpuQuantity(1.25)]).toEqual(["2", "500m", "1250m"]);
    expect([memoryQuantity(4), memoryQuantity(0.5), memoryQuantity(1.5)]).toEqual(["4Gi", "512Mi", "1536Mi"]);
  });
});
