// GET /api/v1/deployments/{id}/resources: the replicas' samples (as the serving-resources worker stores them) with what
// the replicas request and where the figures come from (or why there are none), to the deployment's team only.
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { GET } from "@/app/api/v1/deployments/[id]/resources/route";
import { deploymentResourceSamples, deployments, registeredModels, teams } from "@/db/schema";
import type { DeploymentResources } from "@/lib/schemas/deployments";
import { replicaPrice } from "@/server/costs/prices";
import { getDeploymentResources } from "@/server/deployments/usage";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";

const db = demoDatabase();
const GIB = 1024 ** 3;
let churnId = "";
let modelId = "";

beforeAll(async () => {
  const [team] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
  churnId = team!.id;
  const [m] = await db().insert(registeredModels).values({ teamId: churnId, name: `usage-${Date.now()}`, creationTime: Date.now(), lastUpdatedTime: Date.now() }).returning({ id: registeredModels.id });
  modelId = m!.id;
});

async function deployment(over: Partial<typeof deployments.$inferInsert> = {}): Promise<string> {
  const [d] = await db().insert(deployments).values({
    teamId: churnId, modelId, modelName: "usage", version: 1, environment: "staging", status: "ready", replicas: 2, autoScale: false, minReplicas: 2, maxReplicas: 2,
    createdByEmail: DEMO.ds, readyAt: new Date(), ...over,
  }).returning({ id: deployments.id });
  return d!.id;
}

const get = (id: string, token?: string) => call(GET, { token, path: `/api/v1/deployments/${id}/resources`, params: { id } });

describe("GET /api/v1/deployments/{id}/resources", () => {
  it("answers the replicas' samples, in time order, against replicas × the replica instance type, to the team", async () => {
    const id = await deployment();
    const t = Date.now() - 60_000;
    await db().insert(deploymentResourceSamples).values([
      { deploymentId: id, at: new Date(t + 15_000), replicas: 2, cpuCores: 0.2, memoryBytes: 0.5 * GIB },
      { deploymentId: id, at: new Date(t), replicas: 1, cpuCores: 0.1, memoryBytes: 0.25 * GIB },
    ]);
    await db().update(deployments).set({ resourceSource: { source: "process" } }).where(eq(deployments.id, id));
    const res = await get(id, await tokenFor(db(), DEMO.ds, "churn"));
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const body = res.json as DeploymentResources;
    const { resources } = await replicaPrice(db());
    expect(body).toEqual({
      samples: [
        { at: new Date(t).toISOString(), cpu_cores: 0.1, memory_bytes: 0.25 * GIB, replicas: 1 },
        { at: new Date(t + 15_000).toISOString(), cpu_cores: 0.2, memory_bytes: 0.5 * GIB, replicas: 2 },
      ],
      limits: { cpu: resources.cpu * 2, memory_bytes: Math.round(resources.memoryGib * 2 * GIB) },
      source: "process", message: null, total_samples: 2,
    });
  });

  it("says why there are none where the replicas' usage is not readable", async () => {
    const reason = "pod metrics are not available on this cluster (it does not serve the metrics.k8s.io API; install metrics-server, or set PROMETHEUS_URL to a Prometheus that scrapes the kubelet's cAdvisor metrics)";
    const id = await deployment({ backend: "kubernetes", resourceSource: { source: "unavailable", reason } });
    const body = (await get(id, await tokenFor(db(), DEMO.ds, "churn"))).json as DeploymentResources;
    expect(body).toMatchObject({ samples: [], source: "unavailable", message: reason, total_samples: 0 });
  });

  it("is 404 to another team's member (service and route), 401 without credentials, 404 for an id that is none", async () => {
    const id = await deployment();
    expect((await get(id, await tokenFor(db(), DEMO.dsFraud, "fraud"))).status).toBe(404);
    await expect(getDeploymentResources(await ctxFor(db(), DEMO.dsFraud), id)).rejects.toMatchObject({ code: "not_found" });
    expect((await get(id)).status).toBe(401);
    expect((await get("not-a-deployment", await tokenFor(db(), DEMO.ds, "churn"))).status).toBe(404);
  });
});
