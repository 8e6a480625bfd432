// The tenant sync on a real control plane (`npm run test:cluster`), run — with the job executor and serving — as an account
// holding only the rights deploy/kubernetes/cairn-rbac.yaml (and the README) list, with a token minted by the
// TokenRequest API: the team's namespace, ResourceQuota (the API server's own quota admission refusing an
// over-quota pod), LimitRange (the API server's defaulting of a pod without requests), Role and RoleBinding, drift
// repair after an out-of-band edit, and a right taken away surfacing as the API server's 403 on the team page.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AuthorizationV1Api, BatchV1Api, CoreV1Api, CustomObjectsApi, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import type { V1ClusterRole, V1PolicyRule } from "@kubernetes/client-node";
import { eq, inArray } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { teams, tenantSync, tenantSyncLeases } from "@/db/schema";
import type { ExitInfo, LaunchSpec } from "../compute/backend";
import { k8sStatus } from "../compute/k8s-api";
import { KubernetesBackend } from "../compute/kubernetes";
import { KubernetesServing } from "../compute/k8s-serving";
import { setQuota, teamUsage } from "../teams/admin";
import { createTeam } from "../teams/service";
import { installWorkers } from "../workers/registry";
import { WorkerRuntime } from "../workers/runtime";
import { TenantSyncLoop } from "../workers/tenant-sync";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { CLUSTER_QUEUE_NAME, desiredObjects, LIMITS_NAME, LOCAL_QUEUE_NAME, QUOTA_NAME, ROLE_NAME } from "./manifests";
import { TenantSyncer } from "./sync";
import { until } from "@/server/testing/until";

const stateDir = process.env.CAIRN_CLUSTER_DIR || path.join(os.homedir(), ".cache", "cairn", "cluster");
// This Cairn runs on the cluster: env() is read lazily, so these hold for every call below.
process.env.CAIRN_COMPUTE_BACKEND = "kubernetes";
process.env.KUBECONFIG = path.join(stateDir, "kubeconfig");

const db = demoDatabase();
const run = randomBytes(3).toString("hex");
// Each run syncs teams of its own (namespaces cairn-<slug>) and an account of its own, all deleted afterwards.
const team = `sync-${run}`;
const namespace = `cairn-${team}`;
const newTeam = `sync2-${run}`;
const workerTeam = `sync3-${run}`;
const accountNs = `cairn-system-${run}`;
const account = `system:serviceaccount:${accountNs}:cairn`;
const roleName = `cairn-sync-${run}`;
const DEMO_QUOTA = { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, max_replicas: 20, monthly_budget_usd: 5000 };

// The rights the README lists for Cairn's account, as an operator applies them.
const rbacFile = YAML.parseAllDocuments(readFileSync(path.resolve("deploy/kubernetes/cairn-rbac.yaml"), "utf8")).map((d) => d.toJS() as { kind: string; rules?: V1PolicyRule[] });
const documentedRules = rbacFile.find((d) => d.kind === "ClusterRole")!.rules!;

const admin = new KubeConfig();
let core: CoreV1Api;
let rbac: RbacAuthorizationV1Api;
let cairn: KubeConfig;
let custom: CustomObjectsApi;
let syncer: TenantSyncer;
let scratch: string;
/** Whether the cluster serves Kueue (npm run cluster starts it unless CAIRN_CLUSTER_KUEUE=off): the sync then makes LocalQueues. */
let kueue = false;
/** The ClusterQueue every team's LocalQueue names, made by this run when the cluster has none (and then deleted). */
let madeClusterQueue = false;
const KUEUE = { group: "kueue.x-k8s.io", version: "v1beta1" };
// ResourceFlavors and ClusterQueues are the cluster admin's, in Kueue's current version (v1beta1 ones do not convert).
const ADMIN_KUEUE = { group: "kueue.x-k8s.io", version: "v1beta2" };
const readLocalQueue = (ns: string) => custom.getNamespacedCustomObject({ ...KUEUE, namespace: ns, plural: "localqueues", name: LOCAL_QUEUE_NAME }) as Promise<{ spec: { clusterQueue: string } }>;


const state = async (slug: string) => {
  const [row] = await db().select({ s: tenantSync }).from(tenantSync).innerJoin(teams, eq(teams.id, tenantSync.teamId)).where(eq(teams.slug, slug));
  return row!.s;
};
const readQuota = () => core.readNamespacedResourceQuota({ namespace, name: QUOTA_NAME });
/** The Status of a refused call (a 403 from admission or RBAC), or throws if the call went through. */
async function refusal(call: () => Promise<unknown>) {
  try {
    await call();
  } catch (err) {
    const status = k8sStatus(err);
    if (status) return status;
    throw err;
  }
  throw new Error("the API server accepted it");
}

function clusterRole(rules: V1PolicyRule[]): V1ClusterRole {
  return { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", metadata: { name: roleName }, rules };
}

/** Whether Cairn's account may `verb` `resource` ("services/proxy") in a namespace now (RBAC changes take a moment to apply). */
async function may(verb: string, resource: string, ns = namespace): Promise<boolean> {
  const [plural, subresource] = resource.split("/");
  const review = await cairn.makeApiClient(AuthorizationV1Api).createSelfSubjectAccessReview({
    body: { spec: { resourceAttributes: { namespace: ns, verb, resource: plural, subresource, group: "" } } },
  });
  return review.status?.allowed === true;
}

/** The account's ClusterRole now holds `rules`. */
async function grant(rules: V1PolicyRule[]): Promise<void> {
  await rbac.replaceClusterRole({ name: roleName, body: clusterRole(rules) });
}

beforeAll(async () => {
  admin.loadFromFile(process.env.KUBECONFIG!);
  core = admin.makeApiClient(CoreV1Api);
  rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  scratch = mkdtempSync(path.join(os.tmpdir(), "cairn-sync-cluster-"));
  await db().update(teams).set({ slug: team, namespace }).where(eq(teams.slug, "churn"));
  // The other demo teams are archived: a whole pass (syncAll) touches only this run's teams on the shared cluster.
  await db().update(teams).set({ archivedAt: new Date() }).where(inArray(teams.slug, ["fraud", "vision"]));

  // Cairn's account: a ServiceAccount bound to a ClusterRole of exactly the documented rules.
  await core.createNamespace({ body: { metadata: { name: accountNs } } });
  await core.createNamespacedServiceAccount({ namespace: accountNs, body: { metadata: { name: "cairn" } } });
  await rbac.createClusterRole({ body: clusterRole(documentedRules) });
  await rbac.createClusterRoleBinding({
    body: {
      metadata: { name: roleName },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: roleName },
      subjects: [{ kind: "ServiceAccount", name: "cairn", namespace: accountNs }],
    },
  });
  // Its token, from the TokenRequest API, and a kubeconfig of that token and the cluster's CA: nothing of the admin's.
  const minted = await core.createNamespacedServiceAccountToken({ namespace: accountNs, name: "cairn", body: { spec: { audiences: [], expirationSeconds: 3600 } } });
  const cluster = admin.getCurrentCluster()!;
  cairn = new KubeConfig();
  cairn.loadFromOptions({
    clusters: [{ name: "local", server: cluster.server, caData: cluster.caData ?? readFileSync(cluster.caFile!).toString("base64") }],
    users: [{ name: "cairn", token: minted.status!.token }],
    contexts: [{ name: "cairn", cluster: "local", user: "cairn" }],
    currentContext: "cairn",
  });
  await until("the account's ClusterRoleBinding to apply", () => may("create", "namespaces"));
  syncer = new TenantSyncer(cairn, { serviceAccount: account });
  custom = admin.makeApiClient(CustomObjectsApi);
  kueue = await syncer.cluster.hasKueue();
  if (kueue) {
    // What the cluster admin does once (README): a ClusterQueue "cairn" with room for the jobs below.
    const exists = await custom.getClusterCustomObject({ ...ADMIN_KUEUE, plural: "clusterqueues", name: CLUSTER_QUEUE_NAME }).then(() => true, () => false);
    if (!exists) {
      await custom.createClusterCustomObject({ ...ADMIN_KUEUE, plural: "resourceflavors", body: { apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ResourceFlavor", metadata: { name: roleName } } });
      await custom.createClusterCustomObject({
        ...ADMIN_KUEUE, plural: "clusterqueues",
        body: {
          apiVersion: "kueue.x-k8s.io/v1beta2", kind: "ClusterQueue", metadata: { name: CLUSTER_QUEUE_NAME },
          spec: { namespaceSelector: {}, resourceGroups: [{ coveredResources: ["cpu", "memory"], flavors: [{ name: roleName, resources: [{ name: "cpu", nominalQuota: "16" }, { name: "memory", nominalQuota: "64Gi" }] }] }] },
        },
      });
      madeClusterQueue = true;
    }
  }
});

afterAll(async () => {
  for (const name of [namespace, `cairn-${newTeam}`, `cairn-${workerTeam}`, accountNs]) await core?.deleteNamespace({ name }).catch(() => undefined);
  await rbac?.deleteClusterRoleBinding({ name: roleName }).catch(() => undefined);
  await rbac?.deleteClusterRole({ name: roleName }).catch(() => undefined);
  if (madeClusterQueue) {
    await custom.deleteClusterCustomObject({ ...ADMIN_KUEUE, plural: "clusterqueues", name: CLUSTER_QUEUE_NAME }).catch(() => undefined);
    await custom.deleteClusterCustomObject({ ...ADMIN_KUEUE, plural: "resourceflavors", name: roleName }).catch(() => undefined);
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("tenant sync on a real cluster, as Cairn's least-privileged account", () => {
  it("creates the labelled namespace, ResourceQuota, Role, RoleBinding and the model servers' NetworkPolicy; the quota controller's count is recorded; a second pass writes nothing", async () => {
    const first = await syncer.syncOne(db(), team);
    expect(first).toMatchObject({ team, state: "in_sync" });
    expect(first!.outcomes.map((o) => `${o.kind} ${o.action}`)).toEqual(["Namespace created", "ResourceQuota created", "Role created", "RoleBinding created", "NetworkPolicy created", ...(kueue ? ["LocalQueue created"] : [])]);
    expect(await state(team)).toMatchObject({ kueue });
    // Kueue's webhook accepted the LocalQueue; its defaulting (stopPolicy) is not drift (the second pass below).
    if (kueue) expect((await readLocalQueue(namespace)).spec).toMatchObject({ clusterQueue: CLUSTER_QUEUE_NAME });

    expect((await core.readNamespace({ name: namespace })).metadata!.labels).toMatchObject({ "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": team });
    expect((await readQuota()).spec!.hard).toEqual({
      "requests.cpu": "64", "requests.memory": "256Gi", "requests.nvidia.com/gpu": "8", pods: "30", persistentvolumeclaims: "0", "services.loadbalancers": "0",
    });
    const wanted = desiredObjects({ slug: team, quota: { ...DEMO_QUOTA, gpus_by_type: null, storage_gib: null, limit_range: null }, limitRange: null }, { serviceAccount: account, kueue: false });
    expect((await rbac.readNamespacedRole({ namespace, name: ROLE_NAME })).rules).toEqual(wanted.find((d) => d.kind === "Role")!.body.rules);
    const binding = await rbac.readNamespacedRoleBinding({ namespace, name: ROLE_NAME });
    expect(binding.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: ROLE_NAME });
    expect(binding.subjects).toEqual([expect.objectContaining({ kind: "ServiceAccount", name: "cairn", namespace: accountNs })]);

    // The quota controller fills in the ResourceQuota's status; the next pass records it (the team page's "Kubernetes counts").
    const again = await until("the quota controller's status", async () => {
      const r = await syncer.syncOne(db(), team);
      return r?.quota_status ? r : null;
    });
    expect(again.state).toBe("in_sync");
    expect(again.outcomes.every((o) => o.action === "unchanged")).toBe(true);
    expect(again.quota_status!.used).toMatchObject({ "requests.cpu": "0", pods: "0" });
    const usage = await teamUsage(await ctxFor(db(), DEMO.ds), team);
    expect(usage.kubernetes).toMatchObject({ state: "in_sync", hard: { cpu: 64, memory_gib: 256, gpus: 8, pods: 30 }, used: { cpu: 0, pods: 0 } });
  });

  it("a quota change reaches the ResourceQuota, and the API server's own quota admission refuses a pod over it (403 exceeded quota)", async () => {
    await setQuota(await ctxFor(db(), DEMO.admin), team, { ...DEMO_QUOTA, cpu: 2, memory_gib: 4 });
    const r = await syncer.syncOne(db(), team);
    expect(r).toMatchObject({ state: "in_sync" });
    expect(r!.outcomes.find((o) => o.kind === "ResourceQuota")).toMatchObject({ action: "updated" });
    expect((await state(team)).driftRepairedAt).toBeNull(); // an intended change, not drift
    await until("the quota controller to take the new limits", async () => (await readQuota()).status?.hard?.["requests.cpu"] === "2");

    const pod = (name: string, cpu: string) => ({ metadata: { name }, spec: { containers: [{ name: "main", image: "busybox", resources: { requests: { cpu, memory: "1Gi" }, limits: { cpu, memory: "1Gi" } } }] } });
    const refused = await refusal(() => core.createNamespacedPod({ namespace, body: pod("too-big", "3") }));
    expect(refused.code).toBe(403);
    expect(refused.message).toBe('pods "too-big" is forbidden: exceeded quota: cairn-quota, requested: requests.cpu=3, used: requests.cpu=0, limited: requests.cpu=2');
    // Within the quota it is admitted, and counted.
    await core.createNamespacedPod({ namespace, body: pod("fits", "1500m") });
    const second = await refusal(() => core.createNamespacedPod({ namespace, body: pod("no-room", "1") }));
    expect(second.message).toBe('pods "no-room" is forbidden: exceeded quota: cairn-quota, requested: requests.cpu=1, used: requests.cpu=1500m, limited: requests.cpu=2');
    // The quota's count is the Kubernetes side of the team's usage: its members see it, another team's do not.
    await until("the pass to record the pod", async () => (await syncer.syncOne(db(), team))?.quota_status?.used["requests.cpu"] === "1500m");
    expect((await teamUsage(await ctxFor(db(), DEMO.ds), team)).kubernetes).toMatchObject({ state: "in_sync", used: { cpu: 1.5, memory_gib: 1, gpus: 0, pods: 1 }, hard: { cpu: 2, memory_gib: 4, pods: 30 } });
    await expect(teamUsage(await ctxFor(db(), DEMO.dsFraud), team)).rejects.toMatchObject({ code: "not_found" });
    await core.deleteNamespacedPod({ namespace, name: "fits", gracePeriodSeconds: 0 });
  });

  it("a LimitRange is stored as written (no drift on the next pass), and the API server gives a pod without requests the default request", async () => {
    await setQuota(await ctxFor(db(), DEMO.admin), team, { ...DEMO_QUOTA, cpu: 2, memory_gib: 4, limit_range: { max: { cpu: 1, memory_gib: 2 }, default_request: { cpu: 0.25, memory_gib: 0.5 } } });
    const r = await syncer.syncOne(db(), team);
    expect(r!.outcomes.find((o) => o.kind === "LimitRange")).toMatchObject({ action: "created" });
    expect((await core.readNamespacedLimitRange({ namespace, name: LIMITS_NAME })).spec!.limits).toEqual([
      { type: "Container", max: { cpu: "1", memory: "2Gi" }, _default: { cpu: "250m", memory: "512Mi" }, defaultRequest: { cpu: "250m", memory: "512Mi" } },
    ]);
    // What the API server stored (with its defaulting) is what Cairn wrote: the next pass changes nothing.
    const again = await syncer.syncOne(db(), team);
    expect(again!.outcomes.every((o) => o.action === "unchanged")).toBe(true);

    await core.createNamespacedPod({ namespace, body: { metadata: { name: "no-requests" }, spec: { containers: [{ name: "main", image: "busybox" }] } } });
    const stored = await core.readNamespacedPod({ namespace, name: "no-requests" });
    expect(stored.spec!.containers[0]!.resources).toEqual({ requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "250m", memory: "512Mi" } });
    expect(stored.metadata!.annotations).toMatchObject({ "kubernetes.io/limit-ranger": expect.stringContaining("LimitRanger plugin set: cpu, memory request") });
    const over = await refusal(() => core.createNamespacedPod({ namespace, body: { metadata: { name: "over-max" }, spec: { containers: [{ name: "main", image: "busybox", resources: { limits: { cpu: "2" } } }] } } }));
    expect(over).toMatchObject({ code: 403, message: expect.stringContaining("maximum cpu usage per Container is 1, but limit is 2") });
    await core.deleteNamespacedPod({ namespace, name: "no-requests", gracePeriodSeconds: 0 });

    // A max or a min alone: the API server fills in the defaults as Cairn wrote them, so again no drift.
    await setQuota(await ctxFor(db(), DEMO.admin), team, { ...DEMO_QUOTA, cpu: 2, memory_gib: 4, limit_range: { max: { cpu: 1 }, min: { memory_gib: 0.5 } } });
    expect((await syncer.syncOne(db(), team))!.outcomes.find((o) => o.kind === "LimitRange")).toMatchObject({ action: "updated" });
    expect((await core.readNamespacedLimitRange({ namespace, name: LIMITS_NAME })).spec!.limits).toEqual([
      { type: "Container", min: { memory: "512Mi" }, max: { cpu: "1" }, _default: { cpu: "1" }, defaultRequest: { cpu: "1", memory: "512Mi" } },
    ]);
    expect((await syncer.syncOne(db(), team))!.outcomes.every((o) => o.action === "unchanged")).toBe(true);

    // No bounds any more: Cairn's LimitRange goes; one Cairn did not make is left alone.
    await setQuota(await ctxFor(db(), DEMO.admin), team, { ...DEMO_QUOTA, cpu: 2, memory_gib: 4, limit_range: null });
    expect((await syncer.syncOne(db(), team))!.outcomes.find((o) => o.kind === "LimitRange")).toMatchObject({ action: "deleted" });
    expect(await refusal(() => core.readNamespacedLimitRange({ namespace, name: LIMITS_NAME }))).toMatchObject({ code: 404 });
    await core.createNamespacedLimitRange({ namespace, body: { metadata: { name: LIMITS_NAME }, spec: { limits: [{ type: "Container", max: { cpu: "2" } }] } } });
    expect((await syncer.syncOne(db(), team))!.outcomes.find((o) => o.kind === "LimitRange")).toBeUndefined();
    expect((await core.readNamespacedLimitRange({ namespace, name: LIMITS_NAME })).spec!.limits[0]!.max).toEqual({ cpu: "2" });
    await core.deleteNamespacedLimitRange({ namespace, name: LIMITS_NAME });
  });

  it("repairs an out-of-band edit: the quota, a deleted Role and a RoleBinding pointed elsewhere come back, recorded as drift repaired", async () => {
    const quota = await readQuota();
    quota.spec!.hard = { ...quota.spec!.hard, "requests.cpu": "8", "limits.cpu": "1" };
    await core.replaceNamespacedResourceQuota({ namespace, name: QUOTA_NAME, body: quota });
    const ns = await core.readNamespace({ name: namespace });
    delete ns.metadata!.labels!["cairn.dev/team"];
    ns.metadata!.labels!.owner = "platform-team"; // someone else's label is kept
    await core.replaceNamespace({ name: namespace, body: ns });
    await rbac.deleteNamespacedRole({ namespace, name: ROLE_NAME });
    await rbac.deleteNamespacedRoleBinding({ namespace, name: ROLE_NAME });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata: { name: ROLE_NAME, labels: { "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": team } }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ kind: "ServiceAccount", name: "cairn", namespace: accountNs }] },
    });

    if (kueue) {
      // Kueue refuses to change a LocalQueue's clusterQueue in place: this one is made again elsewhere, and so is Cairn's repair.
      await custom.deleteNamespacedCustomObject({ ...KUEUE, namespace, plural: "localqueues", name: LOCAL_QUEUE_NAME });
      await until("the LocalQueue to go", () => readLocalQueue(namespace).then(() => false, () => true));
      await custom.createNamespacedCustomObject({ ...KUEUE, namespace, plural: "localqueues", body: { apiVersion: "kueue.x-k8s.io/v1beta1", kind: "LocalQueue", metadata: { name: LOCAL_QUEUE_NAME, labels: { "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": team } }, spec: { clusterQueue: "somewhere-else" } } });
    }

    const r = await syncer.syncOne(db(), team);
    expect(r!.state).toBe("drift_repaired");
    const row = await state(team);
    expect(row).toMatchObject({ state: "drift_repaired", message: `repaired ${kueue ? 5 : 4} object(s)` });
    expect(row.driftRepairedAt).toBeInstanceOf(Date);
    expect(row.repaired).toEqual([
      `Namespace ${namespace} updated: metadata.labels["cairn.dev/team"]: missing → "${team}"`,
      'ResourceQuota cairn-quota updated: spec.hard["limits.cpu"]: "1" → missing; spec.hard["requests.cpu"]: "8" → "2"',
      "Role cairn-workloads created",
      'RoleBinding cairn-workloads recreated: roleRef.kind: "ClusterRole" → "Role"; roleRef.name: "view" → "cairn-workloads"',
      ...(kueue ? ['LocalQueue cairn recreated: spec.clusterQueue: "somewhere-else" → "cairn"'] : []),
    ]);
    if (kueue) expect((await readLocalQueue(namespace)).spec.clusterQueue).toBe(CLUSTER_QUEUE_NAME);
    expect((await core.readNamespace({ name: namespace })).metadata!.labels).toMatchObject({ "cairn.dev/team": team, owner: "platform-team" });
    expect((await readQuota()).spec!.hard).toMatchObject({ "requests.cpu": "2" });
    expect((await readQuota()).spec!.hard).not.toHaveProperty("limits.cpu");
    expect((await rbac.readNamespacedRoleBinding({ namespace, name: ROLE_NAME })).roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: ROLE_NAME });
    expect((await teamUsage(await ctxFor(db(), DEMO.admin), team)).kubernetes).toMatchObject({ state: "drift_repaired", drift_repaired_at: row.driftRepairedAt!.toISOString() });

    const next = await syncer.syncOne(db(), team);
    expect(next!.state).toBe("in_sync");
    expect((await state(team)).driftRepairedAt).toEqual(row.driftRepairedAt);
  });

  it("the job executor runs and cancels a job with the same account's token", async () => {
    const backend = new KubernetesBackend({
      kubeConfig: cairn, pollMs: 200, killPollMs: 100,
      // KWOK: the second job runs for an hour (scripts/cluster/kwok-stages.yaml).
      podAnnotations: (s): Record<string, string> => (s.attempt === 2 ? { "cairn.dev/simulate-duration": "1h" } : {}),
    });
    const spec = (attempt: number): LaunchSpec => {
      const jobId = randomUUID();
      return {
        jobId, attempt, team, runId: randomUUID().replace(/-/g, ""), experimentId: 1, image: "busybox", source: null, command: ["true"],
        env: { MLFLOW_TRACKING_URI: "http://cairn.invalid:3000", MLFLOW_TRACKING_TOKEN: `cairn_${"t".repeat(43)}` },
        workdir: path.join(scratch, jobId), logFile: path.join(scratch, jobId, "output.log"), maxRuntimeSeconds: 600,
        resources: { cpu: 0.5, memoryGib: 0.5, gpus: 0, gpuType: null },
      };
    };
    let done!: (e: ExitInfo) => void;
    const exited = new Promise<ExitInfo>((r) => (done = r));
    const first = await backend.start(spec(1), { onExit: (e) => done(e) });
    expect(await exited).toEqual({ exitCode: 0, signal: null });
    // With Kueue the Job joined the team's LocalQueue (the account reads it) and Kueue admitted it.
    const made = await admin.makeApiClient(BatchV1Api).readNamespacedJob({ namespace, name: first.ref.split("/")[1]! });
    expect(made.metadata!.labels!["kueue.x-k8s.io/queue-name"]).toBe(kueue ? LOCAL_QUEUE_NAME : undefined);

    const long = spec(2);
    let cancelled!: (e: ExitInfo) => void;
    const ended = new Promise<ExitInfo>((r) => (cancelled = r));
    const { ref } = await backend.start(long, { onExit: (e) => cancelled(e) });
    const name = ref.split("/")[1]!;
    await until("the pod to run", async () => (await core.listNamespacedPod({ namespace, labelSelector: `batch.kubernetes.io/job-name=${name}` })).items[0]?.status?.phase === "Running");
    await backend.cancel(ref);
    expect(await ended).toMatchObject({ reason: "cancelled" });
    await backend.kill(ref); // waits until the Job and its pods are gone
    expect(await backend.isAlive(ref)).toBe(false);
  });

  it("serving with the same account's token: a deploy's Deployment, Service, HPA and model-token Secret are made, read and removed", async () => {
    const serving = new KubernetesServing({ kubeConfig: cairn, image: "cairn/model-server:1", fetchImage: "curlimages/curl:8.11.1", cairnUrl: "http://cairn.invalid:3000", cpu: 0.25, memoryGib: 0.25, signingKey: "sync-cluster-test-key-0123456789abcdef" });
    const spec = { deploymentId: randomUUID(), team, modelName: "churn", version: 1, environment: "staging" as const, replicas: 1, autoScale: true, minReplicas: 1, maxReplicas: 2, targetConcurrency: 4, modelSha256: "0".repeat(64) };
    expect(await serving.apply(spec)).toBe("created");
    expect(await serving.apply(spec)).toBe("unchanged");
    expect(await serving.servedIds(team)).toContain(spec.deploymentId);
    await until("the rollout", async () => (await serving.observe(spec)).available === 1);
    await serving.remove(spec);
    expect(await serving.servedIds(team)).not.toContain(spec.deploymentId);
  });

  it("a right taken from the account: the pass records the API server's 403 on the team page, and clears once the right is back", async () => {
    const withoutUpdate = documentedRules.map((r) => (r.resources?.includes("resourcequotas") ? { ...r, verbs: r.verbs.filter((v) => v !== "update") } : r));
    await grant(withoutUpdate);
    await until("the right to be gone", async () => !(await may("update", "resourcequotas")));
    const quota = await readQuota();
    quota.spec!.hard = { ...quota.spec!.hard, "requests.cpu": "9" };
    await core.replaceNamespacedResourceQuota({ namespace, name: QUOTA_NAME, body: quota });

    const r = await syncer.syncOne(db(), team);
    const documented = `Kubernetes refused to update ResourceQuota ${namespace}/${QUOTA_NAME}: resourcequotas "${QUOTA_NAME}" is forbidden: User "${account}" cannot update resource "resourcequotas" in API group "" in the namespace "${namespace}"`;
    expect(r).toMatchObject({ state: "error", message: documented });
    expect(await state(team)).toMatchObject({ state: "error", message: documented });
    // What the team page shows (GET /api/v1/teams/{slug}/usage).
    expect((await teamUsage(await ctxFor(db(), DEMO.ds), team)).kubernetes).toMatchObject({ state: "error", message: documented });
    expect((await readQuota()).spec!.hard!["requests.cpu"]).toBe("9"); // nothing was written

    await grant(documentedRules);
    await until("the right to be back", () => may("update", "resourcequotas"));
    expect((await syncer.syncOne(db(), team))!.state).toBe("drift_repaired");
    expect((await readQuota()).spec!.hard!["requests.cpu"]).toBe("2");
  });

  it("without a right the per-team Role grants, a new team's Role is refused (Kubernetes lets no one grant what they do not hold)", async () => {
    const withoutProxy = documentedRules.filter((r) => !r.resources?.includes("services/proxy"));
    await grant(withoutProxy);
    // (In the first team's namespace its Role grants it: the account holds it there, but not in a new one.)
    await until("the right to be gone", async () => !(await may("create", "services/proxy", `cairn-${newTeam}`)));
    await createTeam(await ctxFor(db(), DEMO.admin), { slug: newTeam, name: "Sync test" });
    const r = await syncer.syncOne(db(), newTeam);
    expect(r!.state).toBe("error");
    expect(r!.message).toMatch(new RegExp(`^Kubernetes refused to create Role cairn-${newTeam}/${ROLE_NAME}: roles.rbac.authorization.k8s.io "${ROLE_NAME}" is forbidden: user "${account}" .*is attempting to grant RBAC permissions not currently held:`, "s"));
    expect(r!.message).toContain('Resources:["services/proxy"]');

    await grant(documentedRules);
    await until("the right to be back", () => may("create", "services/proxy", `cairn-${newTeam}`));
    expect((await syncer.syncOne(db(), newTeam))!.state).toBe("in_sync");
  });

  it("several instances: a team another instance is syncing is skipped, and taken over once its claim runs out; archived teams are not synced", async () => {
    const [row] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, team));
    const quota = await readQuota();
    quota.spec!.hard = { ...quota.spec!.hard, pods: "3" };
    await core.replaceNamespacedResourceQuota({ namespace, name: QUOTA_NAME, body: quota });
    await db().insert(tenantSyncLeases).values({ teamId: row!.id, owner: "another-instance", until: new Date(Date.now() + 60_000) });
    expect(await syncer.syncOne(db(), team)).toBeNull();
    expect((await syncer.syncAll(db())).map((r) => r.team)).not.toContain(team);
    expect((await readQuota()).spec!.hard!.pods).toBe("3"); // left to the instance holding it
    // That instance died: its claim runs out, and this one takes the team over.
    await db().update(tenantSyncLeases).set({ until: new Date(Date.now() - 1000) }).where(eq(tenantSyncLeases.teamId, row!.id));
    expect((await syncer.syncOne(db(), team))!.outcomes.find((o) => o.kind === "ResourceQuota")).toMatchObject({ action: "updated" });
    expect((await readQuota()).spec!.hard!.pods).toBe("30");
    expect(await db().select().from(tenantSyncLeases)).toEqual([]); // a pass leaves no claim behind
    expect(await syncer.syncOne(db(), "vision")).toBeNull(); // archived
  });

  it("the worker syncs on start, and a new team's namespace appears right away rather than on the next pass", async () => {
    const workers = new WorkerRuntime({ election: { kind: "single" }, loops: [new TenantSyncLoop(db(), syncer, 60_000)], log: () => undefined });
    installWorkers(workers);
    await workers.start();
    try {
      const ctx = await ctxFor(db(), DEMO.admin);
      await createTeam(ctx, { slug: workerTeam, name: "Sync worker test" });
      const ws = `cairn-${workerTeam}`;
      const made = await until("the new team's quota", () => core.readNamespacedResourceQuota({ namespace: ws, name: QUOTA_NAME }).catch(() => null), 10);
      // The default quota of a new team, mirrored.
      expect(made.spec!.hard).toMatchObject({ "requests.cpu": "16", "requests.memory": "64Gi", "requests.nvidia.com/gpu": "0", pods: "15" });
      expect((await core.readNamespace({ name: ws })).metadata!.labels).toMatchObject({ "cairn.dev/team": workerTeam });
      // A quota change reaches the cluster without waiting for the interval.
      await setQuota(ctx, workerTeam, { ...DEMO_QUOTA, gpus: 2 });
      await until("the quota change", async () => (await core.readNamespacedResourceQuota({ namespace: ws, name: QUOTA_NAME })).spec!.hard!["requests.nvidia.com/gpu"] === "2", 10);
    } finally {
      installWorkers(null);
      await workers.stop();
    }
  });
});
