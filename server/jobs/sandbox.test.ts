// The outside review's probe, run as a real job through the scheduler and the local executor: read the auth
// secret, another team's artifacts and job logs, the database files, the repository, the server's environment
// through /proc; signal the server; forge a session. Every step must fail, while the job still trains (its
// working folder, the tracking variables and the read-only runtime work).
import { spawn, spawnSync } from "node:child_process";
import http from "node:http";
import net from "node:net";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { cairnForward, LocalBackend, localSandboxConfig, localSandboxStatus } from "../compute/local";
import { jobUid, runsAsOwnUid, sandboxedCommand, sandboxEnv } from "../compute/sandbox";
import { env } from "../env";
import { createExperiment } from "../tracking/experiments";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { jobLogFile, submitJob } from "./service";
import { processesOf, sandboxUid } from "./testing/processes";
import { isFinal, waitForJob } from "./testing/wait";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-sandbox-data-"));
vi.stubEnv("CAIRN_DATA_DIR", dataDir);

// A fake "Cairn" on the tracking port, and another loopback service (a database, Prometheus) beside it.
function listening<T extends net.Server>(server: T): Promise<T> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
const fakeCairn = await listening(http.createServer((req, res) => res.end(`cairn says hello to ${req.url}`)));
const otherService = await listening(net.createServer((socket) => socket.end("other service\n")));
const portOf = (server: net.Server) => (server.address() as net.AddressInfo).port;
vi.stubEnv("CAIRN_TRACKING_URL", `http://127.0.0.1:${portOf(fakeCairn)}`);
afterAll(() => {
  fakeCairn.close();
  otherService.close();
  vi.unstubAllEnvs();
  rmSync(dataDir, { recursive: true, force: true });
});

const db = demoDatabase();
const SECRET = `probe-secret-${process.pid}-${Date.now()}`;

// What the server keeps, as the review found it: an auth secret, PGlite's files, another team's artifacts and
// another job's log, all under the data dir (readable by mode), and the server's own environment.
function plantSecrets(): void {
  writeFileSync(path.join(dataDir, "auth-secret"), SECRET, { mode: 0o644 });
  mkdirSync(path.join(dataDir, "pglite"), { recursive: true });
  writeFileSync(path.join(dataDir, "pglite", "PG_VERSION"), SECRET, { mode: 0o644 });
  mkdirSync(path.join(dataDir, "artifacts", "fraud", "1", "run", "artifacts"), { recursive: true });
  writeFileSync(path.join(dataDir, "artifacts", "fraud", "1", "run", "artifacts", "model.onnx"), SECRET, { mode: 0o644 });
  mkdirSync(path.join(dataDir, "jobs", "someone-elses-job"), { recursive: true });
  writeFileSync(path.join(dataDir, "jobs", "someone-elses-job", "output.log"), SECRET, { mode: 0o644 });
  process.env.CAIRN_PROBE_SERVER_SECRET = SECRET; // the server's environment holds it (in /proc/<pid>/environ)
}

// Each probe prints "PROBE <name>: BLOCKED (<why>)" or "PROBE <name>: LEAKED ...". The job also shows it can still work.
const PROBE = String.raw`
const fs = require("node:fs");
const path = require("node:path");
const crypto = require("node:crypto");
const [dataDir, repo, serverPid, secret] = process.argv.slice(1);
const report = (name, fn) => {
  try {
    const got = fn();
    const leaked = got !== undefined && String(got).includes(secret);
    console.log("PROBE " + name + ": " + (leaked ? "LEAKED " : "BLOCKED (read something else: ") + String(got).slice(0, 60) + (leaked ? "" : ")"));
  } catch (err) { console.log("PROBE " + name + ": BLOCKED (" + err.code + ")"); }
};
report("auth secret", () => fs.readFileSync(path.join(dataDir, "auth-secret"), "utf8"));
report("database files", () => fs.readFileSync(path.join(dataDir, "pglite", "PG_VERSION"), "utf8"));
report("other team's artifact", () => fs.readFileSync(path.join(dataDir, "artifacts", "fraud", "1", "run", "artifacts", "model.onnx"), "utf8"));
report("other job's log", () => fs.readFileSync(path.join(dataDir, "jobs", "someone-elses-job", "output.log"), "utf8"));
report("data dir listing", () => fs.readdirSync(dataDir).join(",") + (fs.readdirSync(dataDir).includes("auth-secret") ? secret : ""));
report("server environ", () => fs.readFileSync("/proc/" + serverPid + "/environ", "utf8"));
report("any environ", () => fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p)).map((p) => { try { return fs.readFileSync("/proc/" + p + "/environ", "utf8"); } catch { return ""; } }).join("|"));
report("repository", () => fs.readdirSync(repo).join(",") + (fs.readdirSync(repo).includes("package.json") ? secret : ""));
report("server node_modules", () => fs.readFileSync(path.join(repo, "node_modules", "next", "package.json"), "utf8") && secret);
report("signal the server", () => { process.kill(Number(serverPid), 0); return secret; });
report("write outside", () => { fs.writeFileSync(path.join(repo, "pwned"), "x"); return secret; });
report("forge a session", () => {
  const key = fs.readFileSync(path.join(dataDir, "auth-secret"));
  return crypto.createHmac("sha256", key).update("admin@example.com").digest("hex") && secret;
});
fs.writeFileSync("outputs.txt", "trained");
console.log("workdir writable: " + fs.readFileSync("outputs.txt", "utf8"));
console.log("runtime: onnx-proto " + typeof require(require.resolve("onnx-proto", { paths: [process.env.NODE_PATH] })).onnx);
console.log("uid: " + process.getuid());
`;

describe("the job sandbox (local executor)", () => {
  it("reports what it is on this host", () => {
    const status = localSandboxStatus();
    expect(status.detail.length).toBeGreaterThan(20);
    if (process.env.CAIRN_TEST_REQUIRE_SANDBOX === "1") expect(status).toMatchObject({ mode: "isolated", limitation: null });
    if (status.mode === "none") expect(status.detail).toContain("NOT sandboxed");
  });

  it("the review's probe fails at every step, and the job still trains", { timeout: 60_000 }, async () => {
    plantSecrets();
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = (await createExperiment(ctx, { name: `sandbox-probe-${Date.now()}`, team: "churn" })).experiment_id;
    const job = await submitJob(ctx, exp, trainJobSchema.parse({
      command: [process.execPath, "-e", PROBE, dataDir, process.cwd(), String(process.pid), SECRET],
      instance_type: "cpu.small", max_runtime_seconds: 60,
    }));
    const done = await waitForJob(db(), job.job_id, isFinal);
    const log = readFileSync(jobLogFile(job.job_id), "utf8");
    const status = localSandboxStatus();
    expect(log).toContain(`=== sandbox: ${status.mode}`);
    if (status.mode === "none") {
      // Nothing to contain it: the probe's reads succeed, which is what the admin console warns about.
      expect(log).toContain("PROBE auth secret: LEAKED");
      return;
    }
    expect(done).toMatchObject({ status: "succeeded", exit_code: 0 });
    const probes = log.split("\n").filter((l) => /^PROBE [^:]+: (BLOCKED|LEAKED)/.test(l));
    expect(probes).toHaveLength(12);
    expect(probes.filter((l) => l.includes("LEAKED"))).toEqual([]);
    expect(log).toContain("workdir writable: trained");
    expect(log).toContain("runtime: onnx-proto object");
    if (status.mode === "isolated") {
      const uid = sandboxUid(log)!;
      expect(uid).toBeGreaterThanOrEqual(1000);
      expect(log).toContain(`uid: ${uid}`);
      expect(processesOf(uid)).toEqual([]); // nothing of it outlives the attempt
    }
  });
});

describe("the sandbox's edges (found by attacking it)", () => {
  const sandboxed = localSandboxStatus().mode !== "none";

  it("keeps the loader's variables away from its root stages and the job (LD_AUDIT would run code as root)", async () => {
    expect(() => trainJobSchema.parse({ command: ["x"], env: { LD_AUDIT: "./evil.so" } })).toThrow(/set by Cairn/);
    expect(() => trainJobSchema.parse({ command: ["x"], env: { GLIBC_TUNABLES: "x" } })).toThrow(/set by Cairn/);
    expect(sandboxEnv({ LD_AUDIT: "x", LD_PRELOAD: "y", GCONV_PATH: "z", KEEP: "1" })).toEqual({ KEEP: "1" });
    if (!sandboxed) return;
    // A spec stored before the schema refused them (a retry reuses it) still never reaches the loader.
    const work = mkdtempSync(path.join(dataDir, "ld-"));
    const log = path.join(work, "out.log");
    const exit = await new Promise<{ exitCode: number | null }>((resolve) => {
      void new LocalBackend().start(
        {
          jobId: `ld-${Date.now()}`, attempt: 1, team: "churn", runId: "r", experimentId: 1, image: null, source: null,
          command: [process.execPath, "-e", "console.log('LDENV=' + Object.keys(process.env).filter((k) => k.startsWith('LD_')).join(','))"],
          env: { PATH: "/usr/bin:/bin", LD_AUDIT: "/nonexistent/evil.so", LD_PRELOAD: "/nonexistent/evil.so" },
          workdir: path.join(work, "attempt-1"), logFile: log, maxRuntimeSeconds: 30, resources: { cpu: 1, memoryGib: 1, gpus: 0, gpuType: null },
        },
        { onExit: resolve },
      );
    });
    const text = readFileSync(log, "utf8");
    expect(exit.exitCode).toBe(0);
    expect(text).toContain("LDENV=\n");
    expect(text).not.toContain("evil.so"); // ld.so names a library it could not load
  });

  it("hides a data dir reached through a symlink, and gives the job its own writable /tmp", () => {
    if (!sandboxed) return;
    const volume = mkdtempSync(path.join(os.tmpdir(), "cairn-volume-"));
    const link = path.join(dataDir, `linked-${Date.now()}`);
    symlinkSync(volume, link);
    writeFileSync(path.join(volume, "auth-secret"), SECRET, { mode: 0o644 });
    const workdir = path.join(volume, "jobs", "j", "attempt-1");
    mkdirSync(workdir, { recursive: true });
    const config = { ...localSandboxConfig(), dataDir: link };
    const uid = jobUid(config, "symlink-test", new Set());
    if (runsAsOwnUid(config)) chownSync(workdir, uid, uid);
    const { argv } = sandboxedCommand(config, {
      command: ["/bin/sh", "-c", `cat ${volume}/auth-secret ${link}/auth-secret 2>&1; echo scratch > /tmp/x 2>&1 && cat /tmp/x 2>&1; id`],
      workdir: path.join(link, "jobs", "j", "attempt-1"), uid,
    });
    const out = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } as unknown as NodeJS.ProcessEnv });
    rmSync(volume, { recursive: true, force: true });
    expect(out.stdout).not.toContain(SECRET);
    expect(out.stdout).toContain("scratch");
  });
});

/** Runs `script` (Node) as a job attempt on the local executor; its exit and its log. */
async function runAttempt(script: string, resources = { cpu: 1, memoryGib: 1, gpus: 0, gpuType: null }, args: string[] = []): Promise<{ exit: { exitCode: number | null; signal: string | null; oomKilled?: boolean }; log: string }> {
  const work = mkdtempSync(path.join(dataDir, "attempt-"));
  const logFile = path.join(work, "out.log");
  const exit = await new Promise<{ exitCode: number | null; signal: string | null; oomKilled?: boolean }>((resolve) => {
    void new LocalBackend().start(
      {
        jobId: `limits-${Date.now()}-${Math.random().toString(16).slice(2)}`, attempt: 1, team: "churn", runId: "r", experimentId: 1, image: null, source: null,
        command: [process.execPath, "-e", script, ...args], env: { PATH: "/usr/bin:/bin" },
        workdir: path.join(work, "attempt-1"), logFile, maxRuntimeSeconds: 60, resources,
      },
      { onExit: resolve },
    );
  });
  return { exit, log: readFileSync(logFile, "utf8") };
}

describe("what a job sees of the host, and the kernel's limits on it", () => {
  const sandboxed = localSandboxStatus().mode !== "none";

  it("sees the system's folders and nothing else of the host: an allow-list, not a list of holes", { timeout: 30_000 }, async () => {
    if (!sandboxed) return;
    // A folder no list names (as /work/shared or /opt/secrets would be), world-readable on the host.
    const stray = mkdtempSync(path.join(path.dirname(process.cwd()), ".cairn-stray-"));
    writeFileSync(path.join(stray, "notes.txt"), SECRET, { mode: 0o644 });
    spawnSync("chmod", ["755", stray]);
    try {
      const { exit, log } = await runAttempt(String.raw`
const fs = require("node:fs");
const seen = (p) => { try { return fs.readdirSync(p).length >= 0 ? "SEEN" : ""; } catch (e) { return e.code; } };
console.log("stray: " + (() => { try { return fs.readFileSync(process.argv[1] + "/notes.txt", "utf8"); } catch (e) { return e.code; } })());
for (const p of ["/usr/bin", "/etc", "/etc/ssl", "/etc/default", "/etc/systemd", "/etc/postgresql", "/var/lib", "/run", "/srv", "/home", "/root", process.argv[2]]) console.log("dir " + p + ": " + seen(p));
`, undefined, [stray, path.dirname(process.cwd())]);
      expect(exit.exitCode).toBe(0);
      expect(log).not.toContain(SECRET);
      expect(log).toContain("stray: ENOENT");
      expect(log).toContain("dir /usr/bin: SEEN");
      expect(log).toContain("dir /etc: SEEN");
      for (const p of ["/var/lib", "/run", "/srv", "/home", "/root"]) expect(log).toContain(`dir ${p}: ENOENT`);
      // Of /etc only what the loader, name resolution and TLS need: no service configurations.
      if (existsSync("/etc/ssl")) expect(log).toContain("dir /etc/ssl: SEEN");
      for (const p of ["/etc/default", "/etc/systemd", "/etc/postgresql"]) expect(log).toContain(`dir ${p}: ENOENT`);
    } finally {
      rmSync(stray, { recursive: true, force: true });
    }
  });

  it("holds a job to the memory it asked for (killed past it, as on Kubernetes) and says so in its log", { timeout: 60_000 }, async () => {
    const { exit, log } = await runAttempt(
      "const a = []; for (let i = 0; i < 48; i++) a.push(Buffer.alloc(16 << 20, 1)); console.log('allocated ' + a.length * 16 + ' MiB');",
      { cpu: 1, memoryGib: 0.25, gpus: 0, gpuType: null },
    );
    expect(log).toMatch(/^=== limits: /m);
    if (!/=== limits: .*cgroup v/.test(log)) {
      expect(log).toMatch(/=== limits: none from the kernel \(.+\)/);
      return;
    }
    expect(log).toContain("=== limits: 1 CPU, 0.25 GiB memory, 4096 processes");
    expect(log).not.toContain("allocated 768 MiB");
    expect(exit.oomKilled).toBe(true);
  });

  it("holds a job to the cores it asked for", { timeout: 60_000 }, async () => {
    // Two busy workers for 1.5 s of wall time: 3 CPU-seconds unlimited, at most ~0.75 under a 0.5-core quota.
    const { exit, log } = await runAttempt(String.raw`
const { Worker } = require("node:worker_threads");
const busy = "const end = Date.now() + 1500; while (Date.now() < end) {}";
const start = process.cpuUsage();
Promise.all([0, 1].map(() => new Promise((r) => new Worker(busy, { eval: true }).on("exit", r)))).then(() => {
  const u = process.cpuUsage(start);
  console.log("cpu seconds: " + ((u.user + u.system) / 1e6).toFixed(2));
});
`, { cpu: 0.5, memoryGib: 1, gpus: 0, gpuType: null });
    expect(exit.exitCode).toBe(0);
    const used = Number(/cpu seconds: ([\d.]+)/.exec(log)?.[1]);
    if (!/=== limits: .*cgroup v/.test(log)) return;
    expect(used).toBeLessThan(1.2);
  });
});

// What a job reaches: Cairn's API through its MLFLOW_TRACKING_URI, and (cairn-only) nothing else on the host.
const NET_PROBE = String.raw`
const http = require("node:http");
const net = require("node:net");
const otherPort = Number(process.argv[1]);
http.get(process.env.MLFLOW_TRACKING_URI + "/api/2.0/mlflow/experiments/list", (res) => {
  let body = "";
  res.on("data", (c) => (body += c));
  res.on("end", () => console.log("CAIRN: " + res.statusCode + " " + body));
}).on("error", (err) => console.log("CAIRN: failed " + err.code));
const other = net.connect(otherPort, "127.0.0.1");
other.on("data", (d) => { console.log("OTHER: reached " + String(d).trim()); other.destroy(); });
other.on("error", (err) => console.log("OTHER: failed " + err.code));
setTimeout(() => process.exit(7), 3000);
`;

describe("the job network (CAIRN_JOB_NETWORK)", () => {
  const sandboxed = localSandboxStatus().mode !== "none";

  it("cairn-only (default): the job reaches Cairn's API at its tracking URL and no other loopback service", { timeout: 30_000 }, async () => {
    expect(env().jobSandbox.network).toBe("cairn-only");
    if (!sandboxed) return;
    expect(localSandboxStatus().detail).toContain("reach Cairn's API");
    const work = mkdtempSync(path.join(dataDir, "net-"));
    const log = path.join(work, "out.log");
    const exit = await new Promise<{ exitCode: number | null }>((resolve) => {
      void new LocalBackend().start(
        {
          jobId: `net-${Date.now()}`, attempt: 1, team: "churn", runId: "r", experimentId: 1, image: null, source: null,
          command: [process.execPath, "-e", NET_PROBE, String(portOf(otherService))],
          env: { PATH: "/usr/bin:/bin", MLFLOW_TRACKING_URI: env().trackingUrl },
          workdir: path.join(work, "attempt-1"), logFile: log, maxRuntimeSeconds: 30, resources: { cpu: 1, memoryGib: 1, gpus: 0, gpuType: null },
        },
        { onExit: resolve },
      );
    });
    const text = readFileSync(log, "utf8");
    expect(text).toContain("CAIRN: 200 cairn says hello to /api/2.0/mlflow/experiments/list");
    expect(text).toContain("OTHER: failed ECONNREFUSED");
    expect(text).not.toContain("other service");
    expect(exit.exitCode).toBe(7); // the job's own exit code, through the forwarder
  });

  it("cairn-only: a tracking URL that names Cairn by a hostname resolves to the job's loopback; an address is refused", { timeout: 30_000 }, async () => {
    await expect(cairnForward(dataDir, "http://10.1.2.3:5000")).rejects.toThrow(/CAIRN_JOB_NETWORK=host/);
    if (!sandboxed) return;
    const { socket } = await cairnForward(dataDir, env().trackingUrl);
    const hosts = path.join(dataDir, "hosts-test");
    writeFileSync(hosts, "127.0.0.1\tlocalhost cairn.test\n", { mode: 0o644 });
    const config = localSandboxConfig();
    const workdir = mkdtempSync(path.join(dataDir, "net-name-"));
    const uid = jobUid(config, "net-name-test", new Set());
    if (runsAsOwnUid(config)) chownSync(workdir, uid, uid);
    const port = portOf(fakeCairn);
    const { argv } = sandboxedCommand(config, { command: [process.execPath, "-e", NET_PROBE, String(portOf(otherService))], workdir, uid, forward: { socket, port, hosts } });
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: "/usr/bin:/bin", MLFLOW_TRACKING_URI: `http://cairn.test:${port}` } as unknown as NodeJS.ProcessEnv });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(out).toContain("CAIRN: 200 cairn says hello");
    expect(out).toContain("OTHER: failed ECONNREFUSED");
    expect(code).toBe(7);
  });

  it("host: the job shares the host's network and reaches both", { timeout: 30_000 }, async () => {
    if (!sandboxed) return;
    const config = { ...localSandboxConfig(), network: "host" as const };
    const workdir = mkdtempSync(path.join(dataDir, "net-host-"));
    const uid = jobUid(config, "net-host-test", new Set());
    if (runsAsOwnUid(config)) chownSync(workdir, uid, uid);
    const { argv } = sandboxedCommand(config, { command: [process.execPath, "-e", NET_PROBE, String(portOf(otherService))], workdir, uid });
    expect(argv).not.toContain("--unshare-net");
    const child = spawn(argv[0]!, argv.slice(1), { env: { PATH: "/usr/bin:/bin", MLFLOW_TRACKING_URI: env().trackingUrl } as unknown as NodeJS.ProcessEnv });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(out).toContain("CAIRN: 200 cairn says hello");
    expect(out).toContain("OTHER: reached other service");
    expect(code).toBe(7);
  });
});
