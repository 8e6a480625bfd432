// The serving objects as Cairn writes them: fixed security fields, the pinned hash checked by the init
// container, a download token that opens one deployment's file only, and a spec hash that changes exactly
// when the objects must (a replica count the HPA owns does not count).
import { describe, expect, it } from "vitest";
import type { ServingSpec } from "./k8s-serving-manifest";
import {
  buildModelTokenSecret, buildServingDeployment, buildServingHpa, buildServingService, modelDownloadToken, replicaSecret, servingName, specHash, validModelDownloadToken,
} from "./k8s-serving-manifest";

const spec: ServingSpec = {
  deploymentId: "0b6f4c1e-9a7d-4c31-8f0e-5d2a9c7b1e42", team: "churn", modelName: "churn-model", version: 3, environment: "staging",
  replicas: 2, autoScale: false, minReplicas: 1, maxReplicas: 4, targetConcurrency: 4, modelSha256: "a".repeat(64),
};
const opts = { image: "cairn/model-server:1", fetchImage: "curlimages/curl:8.11.1", cairnUrl: "http://cairn.cairn-system.svc:3000/", cpu: 0.5, memoryGib: 1, signingKey: "k".repeat(32) };

describe("serving manifests", () => {
  it("run the model server unprivileged in the team's namespace, after an init container checked the pinned hash", () => {
    const d = buildServingDeployment(spec, opts, 2);
    expect(d.metadata).toMatchObject({ name: servingName(spec.deploymentId), namespace: "cairn-churn" });
    expect(d.metadata!.name).toMatch(/^cairn-model-[0-9a-f]{12}$/);
    expect(d.spec!.replicas).toBe(2);
    expect(d.spec!.strategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
    const pod = d.spec!.template.spec!;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
    const [fetch] = pod.initContainers!;
    expect(fetch!.command!.join(" ")).toContain("sha256sum -c");
    expect(fetch!.env).toEqual(expect.arrayContaining([
      { name: "CAIRN_MODEL_URL", value: `http://cairn.cairn-system.svc:3000/api/v1/deployments/${spec.deploymentId}/model` },
      { name: "CAIRN_MODEL_SHA256", value: spec.modelSha256 },
      { name: "CAIRN_MODEL_TOKEN", valueFrom: { secretKeyRef: { name: `${servingName(spec.deploymentId)}-secrets`, key: "token" } } },
    ]));
    const [server] = pod.containers;
    expect(server!.image).toBe("cairn/model-server:1");
    expect(server!.args).toEqual(["--model", "/model/model.onnx", "--name", "churn-model", "--version", "3", "--host", "0.0.0.0", "--port", "8080", "--secret-env", "CAIRN_REPLICA_SECRET"]);
    // Only the gateway knows the replica secret: the server refuses other callers in the cluster.
    expect(server!.env).toEqual([{ name: "CAIRN_REPLICA_SECRET", valueFrom: { secretKeyRef: { name: `${servingName(spec.deploymentId)}-secrets`, key: "replica-secret" } } }]);
    expect(server!.resources).toEqual({ requests: { cpu: "500m", memory: "1Gi" }, limits: { cpu: "500m", memory: "1Gi" } });
    expect(server!.securityContext).toMatchObject({ allowPrivilegeEscalation: false, privileged: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    // The pods, the Service and the selector all name this deployment only.
    expect(d.spec!.selector.matchLabels).toEqual({ "cairn.dev/component": "model-server", "cairn.dev/deployment": spec.deploymentId });
    expect(buildServingService(spec).spec!.selector).toEqual(d.spec!.selector.matchLabels);
  });

  it("autoscale on requests in flight per pod between the deploy's bounds", () => {
    const hpa = buildServingHpa({ ...spec, autoScale: true, minReplicas: 2, maxReplicas: 6, targetConcurrency: 8 });
    expect(hpa.spec).toMatchObject({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: servingName(spec.deploymentId) }, minReplicas: 2, maxReplicas: 6,
      metrics: [{ type: "Pods", pods: { metric: { name: "cairn_model_requests_in_flight" }, target: { type: "AverageValue", averageValue: "8" } } }],
    });
  });

  it("hand the init container a token for this deployment's pinned file only", () => {
    const token = modelDownloadToken(opts.signingKey, spec.deploymentId, spec.modelSha256);
    expect(validModelDownloadToken(opts.signingKey, spec.deploymentId, spec.modelSha256, token)).toBe(true);
    expect(validModelDownloadToken(opts.signingKey, "1b6f4c1e-9a7d-4c31-8f0e-5d2a9c7b1e42", spec.modelSha256, token)).toBe(false);
    expect(validModelDownloadToken(opts.signingKey, spec.deploymentId, "b".repeat(64), token)).toBe(false);
    expect(validModelDownloadToken("another key that is long enough!", spec.deploymentId, spec.modelSha256, token)).toBe(false);
    expect(validModelDownloadToken(opts.signingKey, spec.deploymentId, spec.modelSha256, `${token}x`)).toBe(false);
    const secret = buildModelTokenSecret(spec, opts, { name: "cairn-model-x", uid: "u-1" });
    expect(secret.stringData).toEqual({ token, "replica-secret": replicaSecret(opts.signingKey, spec.deploymentId) });
    expect(replicaSecret(opts.signingKey, spec.deploymentId)).not.toBe(replicaSecret(opts.signingKey, "1b6f4c1e-9a7d-4c31-8f0e-5d2a9c7b1e42"));
    expect(secret.metadata!.ownerReferences).toEqual([{ apiVersion: "apps/v1", kind: "Deployment", name: "cairn-model-x", uid: "u-1", controller: false, blockOwnerDeletion: false }]);
  });

  it("change the Deployment's spec hash when it must change, and not for what the HPA owns", () => {
    const base = specHash(spec, opts);
    expect(specHash({ ...spec }, opts)).toBe(base);
    expect(specHash({ ...spec, replicas: 3 }, opts)).not.toBe(base);
    expect(specHash({ ...spec, version: 4 }, opts)).not.toBe(base);
    expect(specHash(spec, { ...opts, image: "cairn/model-server:2" })).not.toBe(base);
    const auto = { ...spec, autoScale: true };
    expect(specHash({ ...auto, replicas: 5 }, opts)).toBe(specHash(auto, opts));
    expect(specHash({ ...auto, maxReplicas: 9, minReplicas: 2, targetConcurrency: 7 }, opts)).toBe(specHash(auto, opts));
  });
});
