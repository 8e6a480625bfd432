// The tenant sync on a real control plane (`npm run test:cluster`), run — with the job executor — as an account
// holding only the rights deploy/kubernetes/cairn-rbac.yaml (and the README) list, with a token minted by the
// TokenRequest API: the team's namespace, ResourceQuota (the API server's own quota admission refusing an
// over-quota pod), LimitRange (the API server's defaulting of a pod without requests), Role and RoleBinding, drift
// repair after an out-of-band edit, and a right taken away surfacing as the API server's 403 on the team page.
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { AuthorizationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from "@kubernetes/client-node";
import type { V1ClusterRole, V1PolicyRule } from "@kubernetes/client-node";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import YAML from "yaml";
import { teams, tenantSync } from "@/db/schema";
import type { ExitInfo, LaunchSpec } from "../compute/backend";
import { k8sStatus } from "../compute/k8s-api";
import { KubernetesBackend } from "../compute/kubernetes";
import { setQuota, teamUsage } from "../teams/admin";
import { createTeam } from "../teams/service";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { desiredObjects, LIMITS_NAME, QUOTA_NAME, ROLE_NAME } from "./manifests";
import { TenantSyncer } from "./sync";

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
let syncer: TenantSyncer;
let scratch: string;

async function until<T>(what: string, probe: () => Promise<T | undefined | null | false>, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

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
});

afterAll(async () => {
  for (const name of [namespace, `cairn-${newTeam}`, accountNs]) await core?.deleteNamespace({ name }).catch(() => undefined);
  await rbac?.deleteClusterRoleBinding({ name: roleName }).catch(() => undefined);
  await rbac?.deleteClusterRole({ name: roleName }).catch(() => undefined);
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("tenant sync on a real cluster, as Cairn's least-privileged account", () => {
  it("creates the labelled namespace, ResourceQuota, Role and RoleBinding; the quota controller's count is recorded; a second pass writes nothing", async () => {
    const first = await syncer.syncOne(db(), team);
    expect(first).toMatchObject({ team, state: "in_sync" });
    expect(first!.outcomes.map((o) => `${o.kind} ${o.action}`)).toEqual(["Namespace created", "ResourceQuota created", "Role created", "RoleBinding created"]);

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
  });

  it("repairs an out-of-band edit: the quota, a deleted Role and a RoleBinding pointed elsewhere come back, recorded as drift repaired", async () => {
    const quota = await readQuota();
    quota.spec!.hard = { ...quota.spec!.hard, "requests.cpu": "8", "limits.cpu": "1" };
    await core.replaceNamespacedResourceQuota({ namespace, name: QUOTA_NAME, body: quota });
    await rbac.deleteNamespacedRole({ namespace, name: ROLE_NAME });
    await rbac.deleteNamespacedRoleBinding({ namespace, name: ROLE_NAME });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata: { name: ROLE_NAME, labels: { "app.kubernetes.io/managed-by": "cairn", "cairn.dev/team": team } }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" }, subjects: [{ kind: "ServiceAccount", name: "cairn", namespace: accountNs }] },
    });

    const r = await syncer.syncOne(db(), team);
    expect(r!.state).toBe("drift_repaired");
    const row = await state(team);
    expect(row).toMatchObject({ state: "drift_repaired", message: "repaired 3 object(s)" });
    expect(row.driftRepairedAt).toBeInstanceOf(Date);
    expect(row.repaired).toEqual([
      'ResourceQuota cairn-quota updated: spec.hard["limits.cpu"]: "1" → missing; spec.hard["requests.cpu"]: "8" → "2"',
      "Role cairn-workloads created",
      'RoleBinding cairn-workloads recreated: roleRef.kind: "ClusterRole" → "Role"; roleRef.name: "view" → "cairn-workloads"',
    ]);
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
    await backend.start(spec(1), { onExit: (e) => done(e) });
    expect(await exited).toEqual({ exitCode: 0, signal: null });

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
});
