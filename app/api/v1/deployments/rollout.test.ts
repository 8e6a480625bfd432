// Zero failures through a rollout (issue 13, item 5): requests run continuously, in several concurrent
// loops, through a model's stable production address and through the per-deployment addresses of the
// deployments a promotion (a team lead approves v2) and then a rollback (back to v1) replace. Every
// request must be answered 200, and the answers must switch to the new version — real replicas, real
// approvals, the gateway route as Next calls it.
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployments } from "@/db/schema";
import { POST as deployRoute } from "@/app/api/v1/models/[name]/deploy/route";
import { POST as approveRoute } from "@/app/api/v1/approvals/[id]/approve/route";
import { POST as rollbackRoute } from "@/app/api/v1/deployments/[id]/rollback/route";
import { POST as servePost } from "@/app/serve/[team]/[deployment]/[...path]/route";
import { deploymentRuntime, stopAllReplicas } from "@/server/deployments/runtime";
import { linearClassifierOnnx } from "@/server/registry/onnx-graphs";
import { createModel, newRun, putRunFile, registerVersion, unique } from "@/server/registry/test-helpers";
import { DEMO, call, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { settleDeployments } from "@/server/workers/testing";

const db = demoDatabase({ routeCache: true });
let ds = "";
let mle = "";
let lead = "";
let model = "";

type Answer = { status: number; version: string | null; by: string | null; error?: string };
type Loop = { name: string; answers: Answer[]; done: Promise<void> };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let running = true;

/** One client: POSTs an inference to `segments` (team first) again and again until told to stop. */
function loop(name: string, team: string, segments: string[]): Loop {
  const answers: Answer[] = [];
  const done = (async () => {
    while (running) {
      // As Next hands them to the route: each segment decoded.
      const [second, ...path] = [...segments, "v2", "models", model, "infer"];
      const res = await call(servePost as never, {
        method: "POST", token: ds, params: { team, deployment: second!, path },
        body: { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4] }] },
      });
      const json = res.json as { model_version?: string; error?: string };
      answers.push({ status: res.status, version: json.model_version ?? null, by: res.response.headers.get("x-cairn-deployment"), ...(json.error ? { error: json.error } : {}) });
      await sleep(5);
    }
  })();
  return { name, answers, done };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** Every loop has been answered at least `n` times by `version` since `from` answers ago (or ever). */
const answeredSince = (loops: Loop[], marks: Map<Loop, number>, version: string, n = 3) =>
  loops.every((l) => l.answers.slice(marks.get(l) ?? 0).filter((a) => a.version === version).length >= n);
const mark = (loops: Loop[]) => new Map(loops.map((l) => [l, l.answers.length]));

/** "1 1 1 2 2 1" → ["1", "2", "1"]. */
const phases = (answers: Answer[]) => answers.map((a) => a.version).filter((v, i, all) => i === 0 || v !== all[i - 1]);

async function productionDeploy(version: number): Promise<string> {
  const asked = await call(deployRoute, { method: "POST", token: mle, params: { name: model }, body: { version, environment: "production", replicas: 2, auto_scale: false } });
  expect(asked.status, JSON.stringify(asked.json)).toBe(202);
  const approved = await call(approveRoute, { method: "POST", token: lead, params: { id: (asked.json as { approval_request_id: string }).approval_request_id }, body: { comment: "ship it" } });
  expect(approved.status, JSON.stringify(approved.json)).toBe(200);
  return (approved.json as { deployment_id: string }).deployment_id;
}

beforeAll(async () => {
  [ds, mle, lead] = await Promise.all([tokenFor(db(), DEMO.ds, "churn"), tokenFor(db(), DEMO.mle, "churn"), tokenFor(db(), DEMO.lead, "churn")]);
  model = unique("rollout");
  await createModel(ds, model);
  for (const weights of [[0.5, -1, 2, 0.25], [-0.5, 1, -2, 0.25]]) {
    const at = await newRun(ds, "rollout");
    await putRunFile(ds, at, "model/model.onnx", new Uint8Array(linearClassifierOnnx({ features: 4, classes: 2, weights, bias: [0] })));
    await registerVersion(ds, model, at);
  }
});

afterAll(async () => {
  running = false;
  await stopAllReplicas();
});

describe("a promotion and a rollback under continuous traffic", () => {
  it("answers every request, through the stable address and the replaced deployments' own, and switches versions", async () => {
    const first = await productionDeploy(1);
    await settleDeployments(db());
    const stable = [1, 2, 3].map((i) => loop(`stable ${i}`, "churn", [model, "production"]));
    const pinnedFirst = [1, 2].map((i) => loop(`v1 deployment ${i}`, "churn", [first]));
    const loops = [...stable, ...pinnedFirst];
    try {
      await until("every loop answered by v1", () => answeredSince(loops, new Map(), "1"));

      // Promotion: a team lead approves v2; it serves, production's alias moves, the v1 deployment is replaced.
      let marks = mark(loops);
      const second = await productionDeploy(2);
      await settleDeployments(db());
      const [replaced] = await db().select({ status: deployments.status }).from(deployments).where(eq(deployments.id, first));
      expect(replaced!.status).toBe("stopped");
      expect(deploymentRuntime().pick(first)).toBeNull();
      await until("every loop answered by v2", () => answeredSince(loops, marks, "2"));
      const pinnedSecond = loop("v2 deployment", "churn", [second]);
      loops.push(pinnedSecond);
      await until("the v2 deployment's own address answered", () => answeredSince([pinnedSecond], new Map(), "2"));

      // Rollback: v1 again as a new deployment; once it serves, the v2 deployment is replaced.
      marks = mark(loops);
      const back = await call(rollbackRoute, { method: "POST", token: mle, params: { id: second } });
      expect(back.status, JSON.stringify(back.json)).toBe(200);
      const third = (back.json as { deployment_id: string; version: number }).deployment_id;
      expect((back.json as { version: number }).version).toBe(1);
      await settleDeployments(db());
      expect(deploymentRuntime().pick(second)).toBeNull();
      await until("every loop answered by v1 again", () => answeredSince(loops, marks, "1"));

      running = false;
      await Promise.all(loops.map((l) => l.done));
      const failures = loops.flatMap((l) => l.answers.filter((a) => a.status !== 200).map((a) => ({ loop: l.name, ...a })));
      expect(failures).toEqual([]);
      for (const l of [...stable, ...pinnedFirst]) expect(phases(l.answers), l.name).toEqual(["1", "2", "1"]);
      expect(phases(pinnedSecond.answers)).toEqual(["2", "1"]);
      // Who answered: the deployment serving production at the time, whichever address was called.
      for (const l of loops) {
        const by = l.answers.map((a) => a.by).filter((b, i, all) => i === 0 || b !== all[i - 1]);
        expect(by.at(-1), l.name).toBe(third);
        expect(by.every((b) => b === first || b === second || b === third), l.name).toBe(true);
      }
      expect(loops.reduce((n, l) => n + l.answers.length, 0)).toBeGreaterThan(60);
    } finally {
      running = false;
      await Promise.all(loops.map((l) => l.done));
    }
  }, 180_000);

  it("keeps the replaced replicas serving for a moment after the switch commits, then stops them", async () => {
    const [current] = await db().select({ id: deployments.id }).from(deployments).where(and(eq(deployments.modelName, model), eq(deployments.environment, "production"), eq(deployments.status, "ready")));
    await productionDeploy(2);
    // The reconciler brings v2 up and the promotion switches to it. The moment the database says the current one
    // is replaced, requests already routed to it must still find a replica.
    const settling = settleDeployments(db());
    await until("the switch to commit", async () => (await db().select({ status: deployments.status }).from(deployments).where(eq(deployments.id, current!.id)))[0]!.status === "stopped", 30_000, 5);
    expect(deploymentRuntime().pick(current!.id)).not.toBeNull();
    await settling;
    expect(deploymentRuntime().pick(current!.id)).toBeNull();
  }, 60_000);
});
