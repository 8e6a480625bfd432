// The tenant sync against an in-test API server that answers like a real one (Status objects, 404/409/
// 403/422, resourceVersions, discovery) and validates every object it is sent with kubernetes-models:
// first creation, idempotence, drift repair (edited, deleted, relabelled, a RoleBinding's roleRef), an
// intended quota change told apart from drift, limit ranges, Kueue, 409 and 403 handling, an unreachable
// API, and the ResourceQuota status feeding the team's usage.
import { eq } from "drizzle-orm";
import { LimitRange } from "kubernetes-models/v1/LimitRange";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { ResourceQuota } from "kubernetes-models/v1/ResourceQuota";
import { Role } from "kubernetes-models/rbac.authorization.k8s.io/v1/Role";
import { RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { teams, tenantSync, tenantSyncLeases } from "@/db/schema";
import { FakeCluster } from "../compute/testing/fake-k8s";
import type { KObject } from "../compute/testing/fake-k8s";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { setQuota, teamUsage } from "../teams/admin";
import { getTeam } from "../teams/service";
import { desiredObjects, QUOTA_NAME } from "./manifests";
import { createTeam } from "../teams/service";
import { TenantSyncer } from "./sync";
import { installWorkers } from "../workers/registry";
import { WorkerRuntime } from "../workers/runtime";
import { TenantSyncLoop } from "../workers/tenant-sync";

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

const writes = () => cluster.requests.filter((r) => r.method !== "GET");
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
});

describe("tenant sync", () => {
  it("creates each team's namespace and objects, then a second pass writes nothing", async () => {
    const results = await syncer.syncAll(db());
    expect(results.map((r) => [r.team, r.state])).toEqual([["churn", "in_sync"], ["fraud", "in_sync"], ["vision", "in_sync"]]);
    for (const slug of ["churn", "fraud", "vision"]) {
      const ns = cluster.get("namespaces", null, `cairn-${slug}`)!;
      expect(ns.metadata.labels).toMatchObject({ "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": slug });
      expect(cluster.get("roles", `cairn-${slug}`, "cairn-workloads")).toBeTruthy();
      expect(cluster.get("rolebindings", `cairn-${slug}`, "cairn-workloads")).toBeTruthy();
      expect(cluster.get("limitranges", `cairn-${slug}`, "cairn-limits")).toBeUndefined();
    }
    expect(hardOf("cairn-churn")).toEqual({
      "requests.cpu": "64", "requests.memory": "256Gi", "requests.nvidia.com/gpu": "8", pods: "30", persistentvolumeclaims: "0", "services.loadbalancers": "0",
    });
    const churn = await state("churn");
    expect(churn).toMatchObject({ state: "in_sync", kueue: false });
    expect(churn.repaired).toContain("ResourceQuota cairn-quota created");
    expect(churn.quotaStatus).toEqual({ hard: hardOf("cairn-churn"), used: { "requests.cpu": "0", "requests.memory": "0Gi", "requests.nvidia.com/gpu": "0", pods: "0", persistentvolumeclaims: "0", "services.loadbalancers": "0" } });

    const before = writes().length;
    const again = await syncer.syncAll(db());
    expect(again.every((r) => r.state === "in_sync" && r.outcomes.every((o) => o.action === "unchanged"))).toBe(true);
    expect(writes().length).toBe(before);
    expect((await state("churn")).driftRepairedAt).toBeNull();
  });

  it("repairs drift: an edited quota, a removed label, a deleted Role, a RoleBinding pointing elsewhere", async () => {
    const q = quotaOf("cairn-churn");
    (q.spec as { hard: Record<string, string> }).hard["requests.cpu"] = "8";
    (q.spec as { hard: Record<string, string> }).hard["limits.cpu"] = "1"; // someone else's key on Cairn's quota
    cluster.update("resourcequotas", q);
    const ns = cluster.get("namespaces", null, "cairn-churn")!;
    delete ns.metadata.labels!["cairn.dev/team"];
    ns.metadata.labels!["owner"] = "platform-team"; // a label of someone else's is kept
    cluster.update("namespaces", ns);
    cluster.remove("roles", cluster.get("roles", "cairn-churn", "cairn-workloads")!);
    const rb = cluster.get("rolebindings", "cairn-churn", "cairn-workloads")!;
    rb.roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" };
    cluster.update("rolebindings", rb);

    const [r] = (await syncer.syncAll(db())).filter((x) => x.team === "churn");
    expect(r!.state).toBe("drift_repaired");
    const s = await state("churn");
    expect(s.state).toBe("drift_repaired");
    expect(s.driftRepairedAt).toBeInstanceOf(Date);
    expect(s.repaired).toEqual(expect.arrayContaining([
      'ResourceQuota cairn-quota updated: spec.hard["limits.cpu"]: "1" → missing; spec.hard["requests.cpu"]: "8" → "64"',
      expect.stringContaining('Namespace cairn-churn updated: metadata.labels["cairn.dev/team"]: missing → "churn"'),
      "Role cairn-workloads created",
      expect.stringContaining("RoleBinding cairn-workloads recreated: roleRef"),
    ]));
    expect(hardOf("cairn-churn")["requests.cpu"]).toBe("64");
    expect(hardOf("cairn-churn")["limits.cpu"]).toBeUndefined();
    expect(cluster.get("namespaces", null, "cairn-churn")!.metadata.labels).toMatchObject({ "cairn.dev/team": "churn", owner: "platform-team" });
    expect(cluster.get("rolebindings", "cairn-churn", "cairn-workloads")!.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "cairn-workloads" });
    // The other teams were left as they were.
    expect((await state("fraud")).state).toBe("in_sync");

    // Next pass: in sync again, and the repair stays on record.
    await syncer.syncAll(db());
    const after = await state("churn");
    expect(after.state).toBe("in_sync");
    expect(after.driftRepairedAt).toEqual(s.driftRepairedAt);
  });

  it("a quota change is an update, not drift; a limit range appears and disappears with the team's setting", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    await setQuota(admin, "fraud", { ...DEMO_QUOTA, cpu: 12.5, limit_range: { min: { cpu: 0.1 }, max: { cpu: 8, memory_gib: 32 }, default_request: { cpu: 0.5, memory_gib: 1 } } });
    const r = await syncer.syncOne(db(), "fraud");
    expect(r!.state).toBe("in_sync");
    expect(r!.outcomes.filter((o) => o.action !== "unchanged").map((o) => `${o.kind} ${o.action}`)).toEqual(["ResourceQuota updated", "LimitRange created"]);
    expect(hardOf("cairn-fraud")["requests.cpu"]).toBe("12500m");
    expect(cluster.get("limitranges", "cairn-fraud", "cairn-limits")!.spec).toEqual({
      limits: [{ type: "Container", min: { cpu: "100m" }, max: { cpu: "8", memory: "32Gi" }, defaultRequest: { cpu: "500m", memory: "1Gi" }, default: { cpu: "500m", memory: "1Gi" } }],
    });
    expect((await state("fraud")).driftRepairedAt).toBeNull();
    // The API shows the limit range on the quota.
    expect((await getTeam(admin, "fraud")).quota!.limit_range).toEqual({ min: { cpu: 0.1 }, max: { cpu: 8, memory_gib: 32 }, default_request: { cpu: 0.5, memory_gib: 1 } });

    await setQuota(admin, "fraud", { ...DEMO_QUOTA, limit_range: null });
    const back = await syncer.syncOne(db(), "fraud");
    expect(back!.outcomes.find((o) => o.kind === "LimitRange")).toMatchObject({ action: "deleted" });
    expect(cluster.get("limitranges", "cairn-fraud", "cairn-limits")).toBeUndefined();
    expect(hardOf("cairn-fraud")["requests.cpu"]).toBe("64");
  });

  it("a LimitRange with only a max or a min is stored with the API server's defaults, and the next pass finds it unchanged", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    await setQuota(admin, "fraud", { ...DEMO_QUOTA, limit_range: { max: { cpu: 4 }, min: { memory_gib: 0.5 } } });
    expect((await syncer.syncOne(db(), "fraud"))!.outcomes.find((o) => o.kind === "LimitRange")).toMatchObject({ action: "created" });
    expect(cluster.get("limitranges", "cairn-fraud", "cairn-limits")!.spec).toEqual({
      limits: [{ type: "Container", min: { memory: "512Mi" }, max: { cpu: "4" }, default: { cpu: "4" }, defaultRequest: { cpu: "4", memory: "512Mi" } }],
    });
    const again = await syncer.syncOne(db(), "fraud");
    expect(again!.outcomes.every((o) => o.action === "unchanged")).toBe(true);
    expect(again!.state).toBe("in_sync");
    await setQuota(admin, "fraud", { ...DEMO_QUOTA, limit_range: null });
    await syncer.syncOne(db(), "fraud");
  });

  it("a LimitRange Cairn did not make is left alone", async () => {
    cluster.insert("limitranges", { metadata: { name: "cairn-limits", namespace: "cairn-vision" }, spec: { limits: [{ type: "Container", max: { cpu: "2" } }] } });
    await syncer.syncOne(db(), "vision");
    expect(cluster.get("limitranges", "cairn-vision", "cairn-limits")).toBeTruthy();
    cluster.remove("limitranges", cluster.get("limitranges", "cairn-vision", "cairn-limits")!);
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

  it("403: the API's message is recorded for that team, the others still sync, and it clears once allowed", async () => {
    const q = quotaOf("cairn-vision");
    (q.spec as { hard: Record<string, string> }).hard["requests.cpu"] = "1";
    cluster.update("resourcequotas", q);
    const message = 'resourcequotas "cairn-quota" is forbidden: User "system:serviceaccount:cairn-system:cairn" cannot update resource "resourcequotas" in API group "" in the namespace "cairn-vision"';
    cluster.fail({ method: "PUT", plural: "resourcequotas", name: "cairn-quota", code: 403, reason: "Forbidden", message, times: 1 });
    const results = await syncer.syncAll(db());
    const vision = results.find((r) => r.team === "vision")!;
    expect(vision.state).toBe("error");
    expect(vision.message).toContain(message);
    expect(results.filter((r) => r.team !== "vision").every((r) => r.state === "in_sync")).toBe(true);
    const row = await state("vision");
    expect(row).toMatchObject({ state: "error" });
    expect(row.message).toContain("cannot update resource");
    expect(hardOf("cairn-vision")["requests.cpu"]).toBe("1"); // nothing was written

    const usage = await teamUsage(await ctxFor(db(), DEMO.admin), "vision");
    expect(usage.kubernetes).toMatchObject({ namespace: "cairn-vision", state: "error" });

    expect((await syncer.syncOne(db(), "vision"))!.state).toBe("drift_repaired");
    expect(hardOf("cairn-vision")["requests.cpu"]).toBe("64");
  });

  it("with Kueue installed each team gets a LocalQueue (validated against the CRD's schema)", async () => {
    cluster.kueue = true;
    const results = await syncer.syncAll(db());
    expect(results.every((r) => r.state === "in_sync")).toBe(true);
    expect((await state("churn")).kueue).toBe(true);
    // Kueue defaults stopPolicy: not drift.
    expect(cluster.get("localqueues", "cairn-churn", "cairn")!.spec).toEqual({ clusterQueue: "cairn", stopPolicy: "None" });
    expect((await syncer.syncOne(db(), "churn"))!.outcomes.every((o) => o.action === "unchanged")).toBe(true);
    // clusterQueue is immutable (the in-test server refuses a change, as Kueue's CEL rule does): delete and create.
    const lq = cluster.get("localqueues", "cairn-churn", "cairn")!;
    lq.spec = { clusterQueue: "somewhere-else", stopPolicy: "None" };
    cluster.update("localqueues", lq);
    const r = await syncer.syncOne(db(), "churn");
    expect(r!.state).toBe("drift_repaired");
    expect(r!.outcomes.find((o) => o.kind === "LocalQueue")).toMatchObject({ action: "recreated" });
    expect(cluster.get("localqueues", "cairn-churn", "cairn")!.spec).toEqual({ clusterQueue: "cairn", stopPolicy: "None" });
  });

  it("the ResourceQuota's status is the Kubernetes side of the team's usage; members see it, other teams do not", async () => {
    const pod: KObject = {
      metadata: { name: "train-1", namespace: "cairn-churn" },
      spec: { containers: [{ name: "main", image: "node:20-slim", resources: { requests: { cpu: "1500m", memory: "3Gi", "nvidia.com/gpu": "2" }, limits: { cpu: "1500m", memory: "3Gi", "nvidia.com/gpu": "2" } } }] },
      status: { phase: "Running" },
    };
    cluster.insert("pods", pod);
    await syncer.syncOne(db(), "churn");
    const usage = await teamUsage(await ctxFor(db(), DEMO.ds), "churn");
    expect(usage.kubernetes).toMatchObject({ namespace: "cairn-churn", state: "in_sync", used: { cpu: 1.5, memory_gib: 3, gpus: 2, pods: 1 }, hard: { cpu: 64, memory_gib: 256, gpus: 8, pods: 30 } });
    await expect(teamUsage(await ctxFor(db(), DEMO.dsFraud), "churn")).rejects.toMatchObject({ code: "not_found" });
    cluster.remove("pods", cluster.get("pods", "cairn-churn", "train-1")!);
  });

  it("several instances: a team another instance is syncing is skipped, and taken over once its claim runs out", async () => {
    const [fraud] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "fraud"));
    const q = quotaOf("cairn-fraud");
    (q.spec as { hard: Record<string, string> }).hard.pods = "3";
    cluster.update("resourcequotas", q);
    await db().insert(tenantSyncLeases).values({ teamId: fraud!.id, owner: "another-instance", until: new Date(Date.now() + 60_000) });
    const results = await syncer.syncAll(db());
    expect(results.map((r) => r.team)).toEqual(["churn", "vision"]);
    expect(hardOf("cairn-fraud").pods).toBe("3"); // left to the instance holding it
    // That instance died: its claim runs out, and this one takes the team over.
    await db().update(tenantSyncLeases).set({ until: new Date(Date.now() - 1000) }).where(eq(tenantSyncLeases.teamId, fraud!.id));
    const r = await syncer.syncOne(db(), "fraud");
    expect(r!.outcomes.find((o) => o.kind === "ResourceQuota")).toMatchObject({ action: "updated" });
    expect(hardOf("cairn-fraud").pods).toBe("30");
    // A pass leaves no claim behind.
    expect(await db().select().from(tenantSyncLeases)).toEqual([]);
  });

  it("archived teams are not synced", async () => {
    await db().update(teams).set({ archivedAt: new Date() }).where(eq(teams.slug, "vision"));
    const results = await syncer.syncAll(db());
    expect(results.map((r) => r.team)).toEqual(["churn", "fraud"]);
    expect(await syncer.syncOne(db(), "vision")).toBeNull();
    await db().update(teams).set({ archivedAt: null }).where(eq(teams.slug, "vision"));
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

describe("the worker", () => {
  it("syncs on start, and a new team's namespace appears right away rather than on the next pass", async () => {
    // The loop under a worker runtime of its own (this process leads), installed so services' wakes reach it.
    const workers = new WorkerRuntime({ election: { kind: "single" }, loops: [new TenantSyncLoop(db(), new TenantSyncer(cluster.kubeConfig(), { serviceAccount: SA }), 60_000)], log: () => undefined });
    installWorkers(workers);
    await workers.start();
    try {
      const admin = await ctxFor(db(), DEMO.admin);
      await createTeam(admin, { slug: "recs", name: "Recommendations" });
      const deadline = Date.now() + 10_000;
      while (!cluster.get("resourcequotas", "cairn-recs", QUOTA_NAME) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(cluster.get("namespaces", null, "cairn-recs")!.metadata.labels).toMatchObject({ "cairn.dev/team": "recs" });
      // The default quota of a new team, mirrored.
      expect(hardOf("cairn-recs")).toMatchObject({ "requests.cpu": "16", "requests.memory": "64Gi", "requests.nvidia.com/gpu": "0", pods: "15" });
      // A quota change reaches the cluster without waiting for the interval (60 s by default).
      await setQuota(admin, "recs", { ...DEMO_QUOTA, gpus: 2 });
      const until = Date.now() + 10_000;
      while (hardOf("cairn-recs")["requests.nvidia.com/gpu"] !== "2" && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
      expect(hardOf("cairn-recs")["requests.nvidia.com/gpu"]).toBe("2");
    } finally {
      installWorkers(null);
      await workers.stop();
    }
  });
});
