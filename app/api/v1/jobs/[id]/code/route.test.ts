// GET /api/v1/jobs/{id}/code: the job's example folder as a .tar.gz that `tar xz` unpacks, for the
// team's members and the job's own token; another team gets 404, a job without a source has no code.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { KubernetesBackend } from "@/server/compute/kubernetes";
import { FakeCluster } from "@/server/compute/testing/fake-k8s";
import { tick, useBackend } from "@/server/workers/testing";
import { cancelJob, getJob, submitJob } from "@/server/jobs/service";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { createExperiment } from "@/server/tracking/experiments";
import { GET } from "./route";

const db = demoDatabase();
let cluster: FakeCluster;
let scratch: string;
const submitted: string[] = [];

beforeAll(async () => {
  // Jobs are submitted for real; they wait on a fake cluster instead of running on this machine.
  cluster = new FakeCluster();
  await cluster.listen();
  useBackend(db(), new KubernetesBackend({ kubeConfig: cluster.kubeConfig(), pollMs: 100 }));
  scratch = mkdtempSync(path.join(os.tmpdir(), "cairn-code-"));
});

afterAll(async () => {
  const admin = await ctxFor(db(), DEMO.admin);
  for (const id of submitted) await cancelJob(admin, id).catch(() => undefined);
  // Let the cancelled attempts' exits (and the scheduler pass each one starts) land before the database closes.
  for (const id of submitted) {
    while (!["succeeded", "failed", "cancelled"].includes((await getJob(admin, id)).status)) await new Promise((r) => setTimeout(r, 50));
  }
  await tick(db());
  await cluster.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function submit(body: Record<string, unknown>): Promise<string> {
  const ctx = await ctxFor(db(), DEMO.ds);
  const exp = (await createExperiment(ctx, { name: `code-${Date.now()}-${submitted.length}`, team: "churn" })).experiment_id;
  const job = await submitJob(ctx, exp, trainJobSchema.parse({ instance_type: "cpu.small", ...body }));
  submitted.push(job.job_id);
  return job.job_id;
}

async function download(id: string, token: string): Promise<Response> {
  return GET(new Request(`http://localhost/api/v1/jobs/${id}/code`, { headers: { authorization: `Bearer ${token}` } }), { params: Promise.resolve({ id }) });
}

describe("GET /api/v1/jobs/{id}/code", () => {
  it("gives a team member the example folder as a tar.gz that unpacks to the same files", async () => {
    const id = await submit({ source: "examples/churn-python" });
    const res = await download(id, await tokenFor(db(), DEMO.mle, "churn"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/gzip");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="examples-churn-python.tar.gz"');
    const archive = path.join(scratch, "code.tar.gz");
    writeFileSync(archive, Buffer.from(await res.arrayBuffer()));
    const out = mkdtempSync(path.join(scratch, "x-"));
    execFileSync("tar", ["-xzf", archive, "-C", out]);
    for (const file of ["train.py", "cairn.json", "churn.csv"]) {
      expect(readFileSync(path.join(out, file))).toEqual(readFileSync(path.resolve("examples/churn-python", file)));
    }
  });

  it("answers 404 to another team and 401 without credentials", async () => {
    const id = await submit({ source: "examples/churn" });
    const stranger = await download(id, await tokenFor(db(), DEMO.dsFraud, "fraud"));
    expect(stranger.status).toBe(404);
    expect((await call(GET, { path: `/api/v1/jobs/${id}/code`, params: { id } })).status).toBe(401);
    expect((await download("00000000-0000-4000-8000-000000000000", await tokenFor(db(), DEMO.ds, "churn"))).status).toBe(404);
  });

  it("a job without a code source has none", async () => {
    const id = await submit({ command: ["python", "-c", "print(1)"] });
    const res = await call(GET, { path: `/api/v1/jobs/${id}/code`, token: await tokenFor(db(), DEMO.ds, "churn"), params: { id } });
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.json)).toContain("has no code source");
  });
});
