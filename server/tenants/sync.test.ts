// The tenant sync's manifests (unit), and the faults a real cluster cannot produce on demand, against the in-test
// API server: a 409 Conflict or AlreadyExists at the moment Cairn writes, and an API server that cannot be reached.
// Everything else — creation, idempotence, drift repair, quota changes, limit ranges, RBAC, Kueue, quota status,
// leases, the worker — runs on a real control plane as Cairn's least-privileged account: sync.cluster.test.ts.
import { eq } from "drizzle-orm";
import { readFileSync } from "node:fs";
import path from "node:path";
import { LimitRange } from "kubernetes-models/v1/LimitRange";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { ResourceQuota } from "kubernetes-models/v1/ResourceQuota";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import YAML from "yaml";
import { teams, tenantSync } from "@/db/schema";
import { FakeCluster } from "../compute/testing/fake-k8s";
import { demoDatabase } from "../testing/fixtures";
import { desiredObjects, QUOTA_NAME } from "./manifests";
import { TenantSyncer } from "./sync";

const db = demoDatabase();
const SA = "system:serviceaccount:cairn-system:cairn";
let cluster: FakeCluster;
let syncer: TenantSyncer;

beforeAll(async () => {
  cluster = new FakeCluster();
  await cluster.listen();
  syncer = new TenantSyncer(cluster.kubeConfig(), { serviceAccount: SA });
});
afterAll(() => cluster.close());
beforeEach(() => {
  cluster.clearFaults();
  cluster.kueue = false;
});

const state = async (slug: string) => {
  const [row] = await db().select({ s: tenantSync }).from(tenantSync).innerJoin(teams, eq(teams.id, tenantSync.teamId)).where(eq(teams.slug, slug));
  return row!.s;
};
const quotaOf = (ns: string) => cluster.get("resourcequotas", ns, QUOTA_NAME)!;
const hardOf = (ns: string) => (quotaOf(ns).spec as { hard: Record<string, string> }).hard;
const DEMO_QUOTA = { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, max_replicas: 20, monthly_budget_usd: 5000 };

describe("manifests", () => {
  it("every object validates against the official schemas, and quantities are canonical", () => {
    const objs = desiredObjects(
      { slug: "churn", quota: { ...DEMO_QUOTA, memory_gib: 0.5, cpu: 2.5, gpus_by_type: null, storage_gib: null, limit_range: null }, limitRange: { max: { cpu: 4, memory_gib: 1.5 }, default_request: { cpu: 0.25 } } },
      { serviceAccount: SA, kueue: false },
    );
    const models = { Namespace, ResourceQuota, LimitRange, Role, RoleBinding, NetworkPolicy } as Record<string, new (o: never) => { validate(): void }>;
    expect(objs.map((o) => o.kind)).toEqual(["Namespace", "ResourceQuota", "LimitRange", "Role", "RoleBinding", "NetworkPolicy"]);
    for (const o of objs) expect(() => new models[o.kind]!(o.body as never).validate()).not.toThrow();
    expect((objs[1]!.body.spec as { hard: Record<string, string> }).hard).toMatchObject({ "requests.cpu": "2500m", "requests.memory": "512Mi", "requests.nvidia.com/gpu": "8", pods: "30" });
    // Written as the API server would store it: the default limit from max, the default request from the default limit.
    expect((objs[2]!.body.spec as { limits: unknown[] }).limits[0]).toEqual({ type: "Container", max: { cpu: "4", memory: "1536Mi" }, default: { cpu: "250m", memory: "1536Mi" }, defaultRequest: { cpu: "250m", memory: "1536Mi" } });
    expect(objs[4]!.body.subjects).toEqual([{ kind: "ServiceAccount", name: "cairn", namespace: "cairn-system" }]);
    // The team's model servers take traffic from Cairn's namespace only.
    expect(objs[5]!.body.spec).toEqual({
      podSelector: { matchLabels: { "cairn.dev/component": "model-server" } }, policyTypes: ["Ingress"],
      ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "cairn-system" } } }], ports: [{ protocol: "TCP", port: 8080 }] }],
    });
    expect(() => desiredObjects({ slug: "churn", quota: objs[1]! as never, limitRange: null }, { serviceAccount: "cairn", kueue: false })).toThrow(/system:serviceaccount/);
  });

  it("Cairn's account as deploy/kubernetes/cairn-rbac.yaml (and the README) define it holds every right the per-team Role grants", () => {
    // Kubernetes lets no one grant a right they do not hold: without one of these the sync cannot create the Role.
    type Rule = { apiGroups: string[]; resources: string[]; verbs: string[] };
    const docs = YAML.parseAllDocuments(readFileSync(path.resolve("deploy/kubernetes/cairn-rbac.yaml"), "utf8")).map((d) => d.toJS() as { kind: string; rules?: Rule[] });
    const held = docs.find((d) => d.kind === "ClusterRole")!.rules!;
    const role = desiredObjects({ slug: "churn", quota: { ...DEMO_QUOTA, gpus_by_type: null, storage_gib: null, limit_range: null }, limitRange: null }, { serviceAccount: SA, kueue: true })
      .find((o) => o.kind === "Role")!.body.rules as Rule[];
    for (const rule of role) for (const group of rule.apiGroups) for (const resource of rule.resources) for (const verb of rule.verbs) {
      expect(held.some((h) => h.apiGroups.includes(group) && h.resources.includes(resource) && h.verbs.includes(verb)), `${verb} ${group}/${resource}`).toBe(true);
    }
    expect(docs.find((d) => d.kind === "ClusterRoleBinding")).toMatchObject({ subjects: [{ kind: "ServiceAccount", name: "cairn", namespace: "cairn-system" }] });
  });
});

// Fake: these faults come from the in-test server at the moment the test chooses; a real cluster cannot be made to.
describe("tenant sync", () => {
  // The state the faults interrupt: every team synced once.
  beforeAll(async () => {
    await syncer.syncAll(db());
  });

  it("409: a Conflict on replace reads again and retries; an AlreadyExists on create compares with what is there", async () => {
    const q = quotaOf("cairn-churn");
    (q.spec as { hard: Record<string, string> }).hard.pods = "1";
    cluster.update("resourcequotas", q);
    cluster.fail({ method: "PUT", plural: "resourcequotas", code: 409, reason: "Conflict", message: 'Operation cannot be fulfilled on resourcequotas "cairn-quota": the object has been modified; please apply your changes to the latest version and try again', times: 2 });
    // Someone else creates the Role (with other rules) just as Cairn does: Cairn's create gets 409 AlreadyExists,
    // reads what is there, and replaces the rules.
    const role = cluster.get("roles", "cairn-churn", "cairn-workloads")!;
    cluster.remove("roles", role);
    cluster.fail({
      method: "POST", plural: "roles", code: 409, reason: "AlreadyExists", message: 'roles.rbac.authorization.k8s.io "cairn-workloads" already exists',
      onFire: () => cluster.insert("roles", { metadata: { name: "cairn-workloads", namespace: "cairn-churn" }, rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["*"] }] }),
    });
    const r = await syncer.syncOne(db(), "churn");
    expect(r!.state).toBe("drift_repaired");
    expect(hardOf("cairn-churn").pods).toBe("30");
    expect(r!.outcomes.find((o) => o.kind === "Role")).toMatchObject({ action: "updated", differences: expect.arrayContaining([expect.stringMatching(/^metadata\.labels/), expect.stringMatching(/^rules/)]) });
    expect(cluster.get("roles", "cairn-churn", "cairn-workloads")!.rules).toEqual(role.rules);
    const puts = cluster.requests.filter((x) => x.method === "PUT" && x.path.endsWith("/resourcequotas/cairn-quota"));
    expect(puts.length).toBeGreaterThanOrEqual(3);

    // A Conflict that never ends is an error after four tries, not a hang.
    const q2 = quotaOf("cairn-churn");
    (q2.spec as { hard: Record<string, string> }).hard.pods = "2";
    cluster.update("resourcequotas", q2);
    cluster.fail({ method: "PUT", plural: "resourcequotas", code: 409, reason: "Conflict", message: "the object has been modified", times: 10 });
    const stuck = await syncer.syncOne(db(), "churn");
    expect(stuck!.state).toBe("error");
    expect(stuck!.message).toMatch(/kept changing/);
    cluster.clearFaults();
    expect((await syncer.syncOne(db(), "churn"))!.state).toBe("drift_repaired");
  });






  it("an unreachable API server: every team records it, nothing else changes", async () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: "gone", server: "http://127.0.0.1:9", skipTLSVerify: true }],
      users: [{ name: "cairn", token: "x" }], contexts: [{ name: "gone", cluster: "gone", user: "cairn" }], currentContext: "gone",
    });
    const before = await state("churn");
    const results = await new TenantSyncer(kc, { serviceAccount: SA }).syncAll(db());
    expect(results.every((r) => r.state === "error" && /unreachable/.test(r.message ?? ""))).toBe(true);
    const after = await state("churn");
    expect(after.state).toBe("error");
    expect(after.syncedAt).toEqual(before.syncedAt);
    expect(after.quotaStatus).toEqual(before.quotaStatus);
  });
});

