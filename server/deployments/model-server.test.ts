// The model server as a pod runs it (--secret-env, the secret from the pod's Secret): only callers holding the
// replica secret — the gateway — get answers; the kubelet's health probes need none; a short secret is refused.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { linearClassifierOnnx } from "../registry/onnx-graphs";
import { SECRET_HEADER } from "./local-serving";

const SERVER = path.join(import.meta.dirname, "model-server.mjs");
const SECRET = "pod-replica-secret-0123456789abcdef";
const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-model-server-"));
const model = path.join(dir, "model.onnx");
let child: ChildProcess;
let base = "";

function start(env: Record<string, string>): Promise<{ child: ChildProcess; port: number | null; stderr: string; code: number | null }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [SERVER, "--model", model, "--name", "m", "--port", "0", "--secret-env", "CAIRN_REPLICA_SECRET"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    c.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n").find((l) => l.includes('"ready"'));
      if (line) resolve({ child: c, port: (JSON.parse(line) as { port: number }).port, stderr: err, code: null });
    });
    c.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    c.on("exit", (code) => resolve({ child: c, port: null, stderr: err, code }));
  });
}

beforeAll(async () => {
  writeFileSync(model, new Uint8Array(linearClassifierOnnx({ features: 2, classes: 2, weights: [1, -1], bias: [0] })));
  const started = await start({ CAIRN_REPLICA_SECRET: SECRET });
  child = started.child;
  base = `http://127.0.0.1:${started.port}`;
});

afterAll(() => {
  child?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

describe("the model server with --secret-env", () => {
  it("answers the gateway's requests and refuses every other caller", async () => {
    const infer = (headers: Record<string, string>) =>
      fetch(`${base}/invocations`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ instances: [[1, 2]] }) });
    expect((await infer({ [SECRET_HEADER]: SECRET })).status).toBe(200);
    for (const headers of [{}, { [SECRET_HEADER]: "not-the-secret-0123456789abc" }, { [SECRET_HEADER]: `${SECRET}x` }] as Record<string, string>[]) {
      const res = await infer(headers);
      expect(res.status).toBe(401);
    }
    expect((await fetch(`${base}/v2/models/m`)).status).toBe(401);
  });

  it("lets the kubelet's probes through without it", async () => {
    expect((await fetch(`${base}/v2/health/ready`)).status).toBe(200);
    expect((await fetch(`${base}/v2/health/live`)).status).toBe(200);
  });

  it("refuses to start with a missing or short secret", async () => {
    for (const env of [{ CAIRN_REPLICA_SECRET: "short" }, { CAIRN_REPLICA_SECRET: "" }]) {
      const run = await start(env);
      expect(run.port).toBeNull();
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/CAIRN_REPLICA_SECRET must be at least 16 characters/);
    }
  });
});
