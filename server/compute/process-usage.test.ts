// The local executor's usage reader against real processes: a parent that starts a child which burns CPU and
// holds 200 MB — the child's CPU and memory count for the tree spawned, as a job's do under bwrap.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { coresBetween, processTreeUsage, uptimeSeconds } from "./process-usage";

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The child touches every page of 200 MB (so it is resident), says so, then spins.
const CHILD = `const b = Buffer.alloc(200 * 1024 * 1024, 1); console.log("ready"); for (;;) { b[Math.floor(Math.random() * b.length)]++; }`;
const PARENT = `const c = require("node:child_process").spawn(process.execPath, ["-e", ${JSON.stringify(CHILD)}], { stdio: ["ignore", "inherit", "inherit"] }); setInterval(() => {}, 1000);`;

let started: ChildProcess | null = null;
afterEach(() => {
  if (started?.pid) {
    try {
      process.kill(-started.pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  started = null;
});

async function startTree(): Promise<number> {
  const child = spawn(process.execPath, ["-e", PARENT], { detached: true, stdio: ["ignore", "pipe", "inherit"] });
  started = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => { if (d.toString().includes("ready")) resolve(); });
    child.once("exit", () => reject(new Error("the test's process tree exited")));
  });
  return child.pid!;
}

describe("processTreeUsage", () => {
  it("counts the memory and CPU of every process below the spawned one", async () => {
    const pid = await startTree();
    const first = processTreeUsage(pid)!;
    const firstAt = uptimeSeconds();
    expect(first.pids.length).toBeGreaterThanOrEqual(2);
    expect(first.pids[0]).toBe(pid);
    // 200 MB held by the grandchild, plus two node runtimes (tens of MB each).
    expect(first.memoryBytes).toBeGreaterThan(200 * MB);
    expect(first.memoryBytes).toBeLessThan(500 * MB);
    await sleep(1500);
    const second = processTreeUsage(pid)!;
    const cores = coresBetween({ cpuSeconds: first.cpuSeconds, at: firstAt }, second);
    // One spinning thread: up to a core, less on a busy shared machine — but never nothing.
    expect(cores).toBeGreaterThan(0.05);
    expect(cores).toBeLessThan(1.6);
    expect(second.cpuSeconds).toBeGreaterThan(first.cpuSeconds);
  });

  it("is null for a process that is gone, or a pid that started at another time", async () => {
    const pid = await startTree();
    const ticks = String(Math.round(processTreeUsage(pid)!.rootStartSeconds * 100) + 12345);
    expect(processTreeUsage(pid, ticks)).toBeNull();
    process.kill(-pid, "SIGKILL");
    await sleep(300);
    expect(processTreeUsage(pid)).toBeNull();
  });

  it("reads cores as 0 when time was lost (a child that exited unreaped), never below", () => {
    expect(coresBetween({ cpuSeconds: 10, at: 100 }, { pids: [1], cpuSeconds: 4, memoryBytes: 0, rootStartSeconds: 50 }, 105)).toBe(0);
    expect(coresBetween(null, { pids: [1], cpuSeconds: 5, memoryBytes: 0, rootStartSeconds: 90 }, 100)).toBe(0.5);
  });
});
