// The rollups' flush timer: it flushes on its interval and stops when told; on SIGTERM/SIGINT a real process
// flushes once more and then exits with the signal's code — unless another listener (Next.js) owns the exit.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startPeriodicFlush } from "./periodic-flush";

const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-periodic-flush-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("startPeriodicFlush", () => {
  it("flushes every interval until stopped, and takes its signal hooks off when stopped", async () => {
    const before = { term: process.listenerCount("SIGTERM"), int: process.listenerCount("SIGINT") };
    let calls = 0;
    const flusher = startPeriodicFlush(async () => { calls++; }, 20);
    expect(process.listenerCount("SIGTERM")).toBe(before.term + 1);
    expect(process.listenerCount("SIGINT")).toBe(before.int + 1);
    await new Promise((r) => setTimeout(r, 150));
    flusher.stop();
    expect(calls).toBeGreaterThanOrEqual(3);
    const stopped = calls;
    await new Promise((r) => setTimeout(r, 80));
    expect(calls).toBe(stopped);
    expect(process.listenerCount("SIGTERM")).toBe(before.term);
    expect(process.listenerCount("SIGINT")).toBe(before.int);
  });

  /** Runs a process that starts a flush (50 ms slow, printing "flushed") and sends it `signal` once it is ready. */
  async function signalled(signal: "SIGTERM" | "SIGINT", otherListener: boolean): Promise<{ code: number | null; out: string }> {
    const script = path.join(dir, `child-${signal}-${otherListener}.ts`);
    writeFileSync(script, [
      `import { startPeriodicFlush } from ${JSON.stringify(path.resolve(__dirname, "periodic-flush.ts"))};`,
      `startPeriodicFlush(async () => { await new Promise((r) => setTimeout(r, 50)); process.stdout.write("flushed\\n"); }, 60_000);`,
      // Next.js's stand-in: it exits on its own, later than the flush takes.
      otherListener ? `process.once(${JSON.stringify(signal)}, () => setTimeout(() => process.exit(0), 300));` : "",
      "setInterval(() => undefined, 1000);",
      `process.stdout.write("ready\\n");`,
    ].join("\n"));
    const child = spawn(path.resolve("node_modules/.bin/tsx"), [script], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stderr.on("data", (c: Buffer) => { err += c.toString(); });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("ready")) resolve();
      });
      child.once("exit", () => reject(new Error(`child exited before it was ready: ${err}`)));
    });
    child.kill(signal);
    return { code: await exited, out };
  }

  it("flushes once more on SIGTERM and exits 143 when it is the only listener", async () => {
    const r = await signalled("SIGTERM", false);
    expect(r.out).toContain("flushed");
    expect(r.code).toBe(143);
  }, 30_000);

  it("flushes once more on SIGINT and exits 130 when it is the only listener", async () => {
    const r = await signalled("SIGINT", false);
    expect(r.out).toContain("flushed");
    expect(r.code).toBe(130);
  }, 30_000);

  it("flushes but leaves the exit to another listener of the signal", async () => {
    const r = await signalled("SIGTERM", true);
    expect(r.out).toContain("flushed");
    expect(r.code).toBe(0);
  }, 30_000);
});
