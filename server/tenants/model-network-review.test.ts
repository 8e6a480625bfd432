// Hostile review (review-s finding 2): a team's model-server pods sat behind a plain ClusterIP Service and
// checked no credentials, so a Job of another team (arbitrary user code, same cluster) could call them directly,
// bypassing the gateway's token check, team scoping and audit. Now the tenant sync writes a NetworkPolicy
// admitting ingress to model-server pods only from Cairn's namespace, and the pods refuse requests without their
// deployment's replica secret (passed from the Secret beside the Deployment; the gateway sends it).
import { describe, expect, it } from "vitest";
import { buildServingDeployment, buildServingService } from "@/server/compute/k8s-serving-manifest";
import { desiredObjects } from "./manifests";

const quota = { cpu: 64, memory_gib: 256, gpus: 8, gpus_by_type: null, max_concurrent_jobs: 10, max_deployments: 10, max_replicas: 20, storage_gib: null, monthly_budget_usd: 5000, limit_range: null };
const spec = {
  deploymentId: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", team: "churn", modelName: "churn-model", version: 1, environment: "staging" as const, replicas: 1,
  autoScale: false, minReplicas: 1, maxReplicas: 1, targetConcurrency: 4, modelSha256: "a".repeat(64),
};
const opts = { image: "cairn/model-server:1", fetchImage: "curlimages/curl:8.11.1", cairnUrl: "http://cairn.cairn-system.svc:3000", cpu: 1, memoryGib: 2, signingKey: "k".repeat(32) };

describe("another team's pods cannot call a team's model servers behind the gateway (review-s finding 2)", () => {
  it("a team's namespace gets a NetworkPolicy that admits ingress to model-server pods only from Cairn (the gateway)", () => {
    const objs = desiredObjects({ slug: "churn", quota, limitRange: null }, { serviceAccount: "system:serviceaccount:cairn-system:cairn", kueue: false });
    const kinds = objs.map((o) => o.kind as string);
    expect(kinds, "the tenant sync writes these kinds into cairn-churn").toContain("NetworkPolicy");
  });

  it("and the model server refuses a caller without its deployment's replica secret (the pod spec passes it from the Secret)", () => {
    const server = buildServingDeployment(spec, opts, 1).spec!.template.spec!.containers[0]!;
    const svc = buildServingService(spec);
    expect(svc.spec!.type).toBe("ClusterIP");
    const serverKnowsACredential = (server.env ?? []).length > 0 || (server.args ?? []).some((a) => /token|auth/i.test(a));
    expect(serverKnowsACredential, "model-server container args/env: " + JSON.stringify(server.args)).toBe(true);
  });
});
