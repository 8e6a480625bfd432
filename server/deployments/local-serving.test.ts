// The replica manager with real model-server processes over real ONNX models: start, round-robin,
// Open Inference Protocol v2 and MLflow scoring answers, refusals of bad input, a model that does not
// load, restarts after a crash, scaling, a version swap, and that nothing outlives a stop.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linearClassifierOnnx } from "../registry/onnx-graphs";
import type { LocalServingOptions, ReplicaStatus, ServingSpec, ServingState } from "./local-serving";
import { LocalServing, SECRET_HEADER } from "./local-serving";

const WEIGHTS = [0.5, -1, 2, 0.25];
const BIAS = 0.1;
const ROWS = [
  [1, 2, 3, 4],
  [0, 0, 0, 0],
  [-1.5, 0.5, -0.25, 2],
];

let dir: string;
let modelPath: string;
let softmaxPath: string;
const servings: LocalServing[] = [];

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "cairn-serving-"));
  modelPath = path.join(dir, "churn.onnx");
  writeFileSync(modelPath, linearClassifierOnnx({ features: 4, classes: 2, weights: WEIGHTS, bias: [BIAS] }));
  softmaxPath = path.join(dir, "iris.onnx");
  writeFileSync(softmaxPath, linearClassifierOnnx({ features: 4, classes: 3, weights: [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0], bias: [0, 0, 0] }));
});

afterAll(async () => {
  await Promise.all(servings.map((s) => s.stopAll()));
  rmSync(dir, { recursive: true, force: true });
});

/** Every instance here shares one secret, so `call` can reach any replica. */
const SECRET = "local-serving-test-secret-0123456789";

function serving(opts: LocalServingOptions = {}): LocalServing {
  const s = new LocalServing({ secret: SECRET, ...opts });
  servings.push(s);
  return s;
}

function spec(over: Partial<ServingSpec> = {}): ServingSpec {
  return { deploymentId: randomUUID(), modelName: "churn", version: 3, modelPath, replicas: 1, ...over };
}

/** [1 − σ(x·w + b), σ(x·w + b)], computed here rather than trusted from the model. */
function expected(row: number[]): [number, number] {
  const z = row.reduce((sum, x, i) => sum + x * WEIGHTS[i]!, BIAS);
  const p = 1 / (1 + Math.exp(-z));
  return [1 - p, p];
}

function expectRows(actual: unknown, rows: number[][]): void {
  expect(Array.isArray(actual)).toBe(true);
  const got = actual as number[][];
  expect(got).toHaveLength(rows.length);
  rows.forEach((row, i) => {
    const [p0, p1] = expected(row);
    expect(got[i]![0]).toBeCloseTo(p0, 6);
    expect(got[i]![1]).toBeCloseTo(p1, 6);
  });
}

async function call(url: string, body?: unknown, init: RequestInit = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers = { [SECRET_HEADER]: SECRET, ...(body === undefined ? {} : { "content-type": "application/json" }) };
  const res = await fetch(url, body === undefined ? { headers, ...init } : { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body), ...init });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Pids of processes whose command line names `needle` (a model or script path unique to a test). */
function processesWith(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) pids.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("a running deployment", () => {
  let s: LocalServing;
  let state: ServingState;
  let base: string;
  const id = randomUUID();

  beforeAll(async () => {
    s = serving();
    state = await s.ensure(spec({ deploymentId: id, replicas: 2 }));
    base = s.pick(id)!;
  });

  it("starts two replicas on distinct ports and picks them in turn", () => {
    expect(state.ready).toBe(2);
    expect(state.desired).toBe(2);
    expect(state.replicas.map((r) => r.status)).toEqual(["ready", "ready"]);
    const [a, b] = state.replicas;
    expect(a!.port).not.toBe(b!.port);
    expect(a!.pid).not.toBe(b!.pid);
    const picks = [s.pick(id), s.pick(id), s.pick(id), s.pick(id)];
    expect(picks[0]).not.toBe(picks[1]);
    expect(picks[2]).toBe(picks[0]);
    expect(picks[3]).toBe(picks[1]);
    expect(new Set(picks)).toEqual(new Set(state.replicas.map((r) => `http://127.0.0.1:${r.port}`)));
  });

  it("says whether a deployment serves without moving the round-robin, so idle requests still alternate", () => {
    expect(s.serves(id)).toBe(true);
    expect(s.serves(randomUUID())).toBe(false);
    const ports: number[] = [];
    for (let i = 0; i < 4; i++) {
      expect(s.serves(id)).toBe(true);
      const lease = s.acquire(id)!;
      ports.push(lease.port);
      lease.release();
    }
    expect(ports[0]).not.toBe(ports[1]);
    expect(ports[2]).toBe(ports[0]);
    expect(ports[3]).toBe(ports[1]);
  });

  it("answers only callers that hold the manager's secret", async () => {
    for (const headers of [{}, { [SECRET_HEADER]: "not-the-secret-0123456789" }] as Record<string, string>[]) {
      const res = await fetch(`${base}/invocations`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ instances: [ROWS[0]] }) });
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: string }).error).toMatch(/inference gateway/);
    }
  });

  it("is idempotent: ensuring the same spec again keeps the same replicas", async () => {
    const again = await s.ensure(spec({ deploymentId: id, replicas: 2 }));
    expect(again.replicas.map((r) => r.pid)).toEqual(state.replicas.map((r) => r.pid));
  });

  it("answers Open Inference Protocol v2 metadata, health and inference", async () => {
    expect(await call(`${base}/v2/health/live`)).toEqual({ status: 200, json: {} });
    expect(await call(`${base}/v2/health/ready`)).toEqual({ status: 200, json: { ready: true } });
    expect((await call(`${base}/v2/models/churn/ready`)).status).toBe(200);
    expect(await call(`${base}/v2/models/churn`)).toEqual({
      status: 200,
      json: {
        name: "churn",
        versions: ["3"],
        platform: "onnxruntime",
        inputs: [{ name: "features", datatype: "FP32", shape: [-1, 4] }],
        outputs: [{ name: "probabilities", datatype: "FP32", shape: [-1, 2] }],
      },
    });
    const other = await call(`${base}/v2/models/fraud`);
    expect(other.status).toBe(404);
    expect(other.json.error).toMatch(/serves "churn"/);

    const flat = await call(`${base}/v2/models/churn/infer`, { id: "req-7", inputs: [{ name: "features", shape: [3, 4], datatype: "FP32", data: ROWS.flat() }] });
    expect(flat.status).toBe(200);
    expect(flat.json).toMatchObject({ model_name: "churn", model_version: "3", id: "req-7" });
    const [out] = flat.json.outputs as { name: string; shape: number[]; datatype: string; data: number[] }[];
    expect(out).toMatchObject({ name: "probabilities", shape: [3, 2], datatype: "FP32" });
    expectRows([out!.data.slice(0, 2), out!.data.slice(2, 4), out!.data.slice(4, 6)], ROWS);

    // Nested data and other numeric datatypes are converted to the model's FP32.
    const nested = await call(`${base}/v2/models/churn/versions/3/infer`, { inputs: [{ name: "features", shape: [1, 4], datatype: "INT64", data: [[1, 2, 3, 4]] }] });
    expect(nested.status).toBe(200);
    expectRows([(nested.json.outputs as { data: number[] }[])[0]!.data], [[1, 2, 3, 4]]);
  });

  it("scores /invocations in MLflow's four formats", async () => {
    const bodies = [
      { dataframe_split: { columns: ["tenure", "spend", "tickets", "logins"], data: ROWS } },
      { dataframe_records: ROWS.map(([tenure, spend, tickets, logins]) => ({ tenure, spend, tickets, logins })) },
      { instances: ROWS },
      { inputs: ROWS },
      { inputs: { features: ROWS } },
    ];
    for (const body of bodies) {
      const { status, json } = await call(`${base}/invocations`, body);
      expect(status, JSON.stringify(body)).toBe(200);
      expectRows(json.predictions, ROWS);
    }
  });

  it("refuses bad input with a status and a message that says what to fix, and keeps serving", async () => {
    const infer = `${base}/v2/models/churn/infer`;
    const one = (over: Record<string, unknown>) => ({ inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: [1, 2, 3, 4], ...over }] });
    const cases: [string, unknown, number, RegExp][] = [
      [infer, "{not json", 400, /not valid JSON/],
      [infer, "", 400, /body is empty/],
      [infer, { inputs: [] }, 400, /"features" \[N, 4\]/],
      [infer, one({ name: "feature" }), 400, /unknown input "feature".*"features"/],
      [infer, one({ data: [1, 2, 3] }), 400, /shape \[1, 4\] needs 4 values, data has 3/],
      [infer, one({ data: [1, 2, "three", 4] }), 400, /value 2 is "three"; every value must be a number/],
      [infer, one({ shape: [1, 3], data: [1, 2, 3] }), 400, /dimension 1 is 3, the model needs 4/],
      [infer, one({ shape: [4], data: [1, 2, 3, 4] }), 400, /has 2 dimensions/],
      [infer, one({ datatype: "FLOAT" }), 400, /unknown datatype "FLOAT"/],
      [infer, { ...one({}), outputs: [{ name: "label" }] }, 400, /unknown output "label"/],
      [`${base}/invocations`, { instances: [[1, 2, 3]] }, 400, /expected 4 features per row, got 3/],
      [`${base}/invocations`, { dataframe_split: { columns: ["a", "b", "c"], data: [[1, 2, 3]] } }, 400, /expected 4 features per row, got 3/],
      [`${base}/invocations`, { dataframe_records: [{ a: 1, b: 2, c: 3, d: 4 }, { a: 1, b: 2, c: 3 }] }, 400, /record 1 has no column "d"/],
      [`${base}/invocations`, { instances: [[1, 2, null, 4]] }, 400, /row 0, column 2 is null/],
      [`${base}/invocations`, { rows: [[1, 2, 3, 4]] }, 400, /dataframe_split, dataframe_records, instances or inputs/],
      [`${base}/v2/models/churn/predict`, {}, 404, /no endpoint/],
      [`${base}/invocations`, "x".repeat(9 * 1024 * 1024), 413, /limit/],
    ];
    for (const [url, body, status, message] of cases) {
      const res = await call(url, body);
      expect(res.status, JSON.stringify(body)?.slice(0, 80)).toBe(status);
      expect(res.json.error).toMatch(message);
    }
    const wrongMethod = await call(`${base}/invocations`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json.error).toMatch(/answers POST, not GET/);

    expect(s.state(id)!.ready).toBe(2);
    expectRows((await call(`${base}/invocations`, { instances: [ROWS[0]] })).json.predictions, [ROWS[0]!]);
  });
});

describe("failures", () => {
  it("rejects a model that does not load with the reason, and leaves no process", async () => {
    const corrupt = path.join(dir, `corrupt-${randomUUID()}.onnx`);
    writeFileSync(corrupt, "this is not an ONNX model");
    const s = serving();
    const id = randomUUID();
    await expect(s.ensure(spec({ deploymentId: id, modelPath: corrupt, replicas: 2 }))).rejects.toThrow(/failed to start: model server exited with code 2: .*could not load the ONNX model/);
    expect(s.state(id)).toBeNull();
    expect(s.pick(id)).toBeNull();
    expect(s.serves(id)).toBe(false);
    expect(processesWith(corrupt)).toEqual([]);
  });

  it("gives up on a replica that never says it is ready, and kills it", async () => {
    const script = path.join(dir, `hang-${randomUUID()}.mjs`);
    writeFileSync(script, `process.stderr.write("loading forever\\n"); setInterval(() => {}, 1000);\n`);
    const s = serving({ serverScript: script, startTimeoutMs: 400 });
    await expect(s.ensure(spec())).rejects.toThrow(/did not start serving within 0.4 s: loading forever/);
    await waitFor("the hung replica to exit", () => processesWith(script).length === 0, 2_000);
  });

  it("restarts a replica that dies, which then serves again", async () => {
    const statuses: ReplicaStatus[] = [];
    const s = serving({ onChange: (st) => statuses.push(st.replicas[0]!.status) });
    const id = randomUUID();
    const first = (await s.ensure(spec({ deploymentId: id }))).replicas[0]!;
    process.kill(first.pid!, "SIGKILL");
    await waitFor("the restart", () => s.state(id)!.replicas[0]!.status === "ready" && s.state(id)!.replicas[0]!.pid !== first.pid);
    const after = s.state(id)!.replicas[0]!;
    expect(after.restarts).toBe(1);
    expect(after.message).toBeNull();
    expect(statuses.slice(statuses.indexOf("restarting"))).toEqual(["restarting", "ready"]);
    expect(isAlive(first.pid!)).toBe(false);
    expect((await call(`${s.pick(id)}/invocations`, { instances: [ROWS[1]] })).json.predictions).toHaveLength(1);
  });

  it("marks a replica failed once it has used up its restarts", async () => {
    const s = serving({ maxRestarts: 1 });
    const id = randomUUID();
    const { pid } = (await s.ensure(spec({ deploymentId: id }))).replicas[0]!;
    process.kill(pid!, "SIGKILL");
    await waitFor("the restart", () => s.state(id)!.replicas[0]!.status === "ready" && s.state(id)!.replicas[0]!.pid !== pid);
    process.kill(s.state(id)!.replicas[0]!.pid!, "SIGKILL");
    await waitFor("the replica to fail", () => s.state(id)!.replicas[0]!.status === "failed");
    expect(s.state(id)!.replicas[0]!.message).toMatch(/exited on signal SIGKILL.*gave up after 1 restarts/);
    expect(s.pick(id)).toBeNull();
    // ensure brings a failed replica back with a fresh budget
    expect((await s.ensure(spec({ deploymentId: id }))).ready).toBe(1);
  });
});

describe("scaling and stopping", () => {
  it("scales 2 → 1 → 3, keeping the replicas that stay", async () => {
    const s = serving();
    const id = randomUUID();
    const two = await s.ensure(spec({ deploymentId: id, replicas: 2 }));
    const one = await s.ensure(spec({ deploymentId: id, replicas: 1 }));
    expect(one.replicas.map((r) => [r.index, r.pid])).toEqual([[0, two.replicas[0]!.pid]]);
    expect(isAlive(two.replicas[1]!.pid!)).toBe(false);
    expect(s.pick(id)).toBe(s.pick(id));
    const three = await s.ensure(spec({ deploymentId: id, replicas: 3 }));
    expect(three.replicas.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(three.ready).toBe(3);
    expect(three.replicas[0]!.pid).toBe(two.replicas[0]!.pid);
    expect(new Set(three.replicas.map((r) => r.port)).size).toBe(3);
  });

  it("scale() counts requests in flight per replica; a replica taken away ends only after the ones it holds", async () => {
    const s = serving();
    const id = randomUUID();
    expect(await s.scale(id, 2)).toBeNull();
    await s.ensure(spec({ deploymentId: id, replicas: 2 }));
    // The least busy replica first: two leases land on two replicas.
    const first = s.acquire(id)!;
    const second = s.acquire(id)!;
    expect(first.url).not.toBe(second.url);
    expect(s.load(id)).toMatchObject({ inflight: 2, ready: 2, desired: 2 });
    const leaving = s.state(id)!.replicas[1]!;
    const held = [first, second].find((l) => l.url === `http://127.0.0.1:${leaving.port}`)!;
    const kept = held === first ? second : first;
    kept.release();

    let isScaled = false;
    const down = s.scale(id, 1).then((state) => {
      isScaled = true;
      return state;
    });
    await waitFor("replica 1 out of routing", () => s.state(id)!.replicas.length === 1);
    // Out of routing at once, yet alive and answering the request it holds.
    for (let i = 0; i < 4; i++) {
      const lease = s.acquire(id)!;
      expect(lease.url).not.toBe(held.url);
      lease.release();
    }
    await new Promise((r) => setTimeout(r, 300));
    expect(isScaled).toBe(false);
    expect(isAlive(leaving.pid!)).toBe(true);
    expect((await call(`${held.url}/v2/models/churn/infer`, { inputs: [{ name: "features", shape: [1, 4], datatype: "FP32", data: ROWS[0] }] })).status).toBe(200);
    held.release();
    held.release(); // idempotent
    expect((await down)!.replicas.map((r) => r.index)).toEqual([0]);
    await waitFor("replica 1 exited", () => !isAlive(leaving.pid!));
    expect(s.load(id)).toMatchObject({ inflight: 0, ready: 1, desired: 1 });
    // The integral grows only while requests are held.
    const a = s.load(id)!;
    await new Promise((r) => setTimeout(r, 50));
    expect(s.load(id)!.inflightMs).toBe(a.inflightMs);
    const lease = s.acquire(id)!;
    await new Promise((r) => setTimeout(r, 100));
    expect(s.load(id)!.inflightMs - a.inflightMs).toBeGreaterThanOrEqual(90);
    lease.release();

    const up = await s.scale(id, 3);
    expect(up).toMatchObject({ ready: 3, desired: 3 });
  });

  it("swaps in a new version once it serves, then stops the old replicas", async () => {
    const s = serving();
    const id = randomUUID();
    const v3 = await s.ensure(spec({ deploymentId: id, replicas: 2 }));
    const v4 = await s.ensure(spec({ deploymentId: id, replicas: 2, version: 4, modelPath: softmaxPath }));
    expect(v4.ready).toBe(2);
    for (const r of v3.replicas) expect(isAlive(r.pid!)).toBe(false);
    const { json } = await call(`${s.pick(id)}/v2/models/churn`);
    expect(json).toMatchObject({ versions: ["4"], outputs: [{ shape: [-1, 3] }] });
  });

  it("stop kills every replica and waits for it", async () => {
    const s = serving();
    const id = randomUUID();
    const { replicas } = await s.ensure(spec({ deploymentId: id, replicas: 2 }));
    await s.stop(id);
    for (const r of replicas) expect(() => process.kill(r.pid!, 0)).toThrow();
    expect(s.state(id)).toBeNull();
    expect(s.pick(id)).toBeNull();
    expect(s.serves(id)).toBe(false);
  });

  it("a model server whose parent goes away exits (its stdin closes)", async () => {
    const child = spawn(process.execPath, [path.join(process.cwd(), "server", "deployments", "model-server.mjs"), "--model", modelPath, "--name", "churn", "--exit-on-stdin-close"], { stdio: ["pipe", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(d.toString())));
    expect(JSON.parse(line)).toEqual({ ready: true, port: expect.any(Number), pid: child.pid });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    child.stdin.end();
    expect(await exited).toBe(0);
  });
});
