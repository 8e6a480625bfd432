// What one code-archive upload may cost: archive bombs (a 1 MB zip that inflates to 1 GiB, tar.gz files
// that unpack past the limit) are refused with the limit named, while the event loop stays free (other
// requests, /api/health, keep being answered) and memory stays flat; an archive just under the limit is
// accepted, unpacked and run the same way; and archives count against the team's storage quota.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { codeArchives, teamQuotas, teams } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { extractCodeArchive } from "@/server/jobs/code-archives";
import { jobLogFile, submitJob } from "@/server/jobs/service";
import type { Deflated } from "@/server/jobs/testing/archives";
import { deflatedZeros, largeTarGzOf, zipOf } from "@/server/jobs/testing/archives";
import { isFinal, waitForJob } from "@/server/jobs/testing/wait";
import { teamUsage } from "@/server/teams/admin";
import { ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { createExperiment } from "@/server/tracking/experiments";
import { DELETE as remove } from "./[id]/route";
import { POST as upload } from "./route";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-code-limits-"));
vi.stubEnv("CAIRN_DATA_DIR", dataDir);
vi.stubEnv("CAIRN_CODE_ARCHIVE_MAX_MB", "4");
vi.stubEnv("CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB", "640");
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dataDir, { recursive: true, force: true });
});

const db = demoDatabase();
const MiB = 2 ** 20;
const GiB = 2 ** 30;
/**
 * The event loop may stall this long at most while an archive inflates: the old synchronous inflate stalled it
 * for about a second per 512 MiB (2 s for the 1 GiB bomb); what is left is the machine's own noise (other
 * processes, GC, the in-process database) — up to ~600 ms seen on a loaded 2-core machine running the suite.
 */
const MAX_LAG_MS = 1000;
/** Memory may grow this much at most while an archive inflates (the old reader held whole entries: +128 MiB and more). */
const MAX_RSS_GROWTH_MIB = 64;

type Cost = { ms: number; maxLagMs: number; rssGrowthMiB: number };

/** Runs `work` while measuring the event loop's longest stall and the peak growth of the process's memory. */
async function measured<T>(work: () => Promise<T>): Promise<[T, Cost]> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  const base = process.memoryUsage.rss();
  let peak = base;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  lag.enable();
  const started = performance.now();
  try {
    const result = await work();
    peak = Math.max(peak, process.memoryUsage.rss());
    return [result, { ms: performance.now() - started, maxLagMs: lag.max / 1e6, rssGrowthMiB: (peak - base) / MiB }];
  } finally {
    lag.disable();
    clearInterval(sampler);
  }
}

function expectCheap(cost: Cost): void {
  expect(cost.maxLagMs, `the event loop stalled for ${Math.round(cost.maxLagMs)} ms`).toBeLessThan(MAX_LAG_MS);
  expect(cost.rssGrowthMiB, `memory grew by ${Math.round(cost.rssGrowthMiB)} MiB`).toBeLessThan(MAX_RSS_GROWTH_MIB);
}

type Answer = { status: number; json: { error?: { code: string; message: string } } & Record<string, unknown> };

async function send(token: string, body: Buffer, filename: string): Promise<Answer> {
  const req = new Request(`http://localhost/api/v1/code-archives?team=churn&filename=${filename}`, {
    method: "POST", body: new Uint8Array(body), headers: { "content-type": "application/octet-stream", authorization: `Bearer ${token}` },
  });
  const res = await upload(req, { params: Promise.resolve({}) });
  return { status: res.status, json: (await res.json()) as Answer["json"] };
}

const TRAIN = 'import { statSync } from "node:fs"; console.log("zeros.bin holds " + statSync("zeros.bin").size + " bytes");';

/** Files under the code folder (staging files included): what a refused upload must not leave. */
function keptFiles(): string[] {
  const dir = path.join(dataDir, "code");
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(path.join(dir, f)).isFile());
}

let token: string;
let gib: Deflated;
let mib128: Deflated;
beforeAll(async () => {
  token = await tokenFor(db(), DEMO.ds, "churn");
  [gib, mib128] = [await deflatedZeros(GiB), await deflatedZeros(128 * MiB)];
  // Warm up the upload path (route, token, database), so what is measured below is the archive's own cost.
  expect((await send(token, zipOf([{ name: "train.mjs", data: TRAIN }]), "warm-up.zip")).status).toBe(201);
}, 180_000);

describe("archive bombs", () => {
  it("a 1 MB zip that inflates to 1 GiB: refused before inflating when it states its size, by the running count when it lies", async () => {
    const bomb = zipOf([{ name: "train.mjs", data: TRAIN }, { name: "zeros.bin", deflated: gib }]);
    expect(bomb.length).toBeLessThan(1.1 * MiB);
    const before = keptFiles();
    const [stated, statedCost] = await measured(() => send(token, bomb, "bomb.zip"));
    expect(stated).toMatchObject({ status: 400, json: { error: { code: "invalid_input" } } });
    expect(stated.json.error!.message).toBe(
      `The archive was refused: it would unpack to at least 1 GB (${(GiB + TRAIN.length).toLocaleString("en-US")} bytes), more than the limit of 640 MB unpacked, CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB. ` +
        "Leave large data out of the code archive and read it from storage in the job.",
    );
    expectCheap(statedCost);

    // The same bytes, its directory claiming 512 MiB (under the limit): inflate runs until the count passes the claim.
    const liar = zipOf([{ name: "train.mjs", data: TRAIN }, { name: "zeros.bin", deflated: gib, claimedSize: 512 * MiB }]);
    const [lying, lyingCost] = await measured(() => send(token, liar, "liar.zip"));
    expect(lying).toMatchObject({ status: 400, json: { error: { code: "invalid_input" } } });
    expect(lying.json.error!.message).toMatch(/^The archive was refused: it is not a readable zip file \("zeros.bin" unpacks to more than the 536,870,912 bytes it claims/);
    expectCheap(lyingCost);
    expect(keptFiles()).toEqual(before);
  }, 180_000);

  it("a .tar.gz that unpacks past the limit: refused at the header that passes it, after streaming what came before", async () => {
    const before = keptFiles();
    // A header stating 1 GiB: refused there, before anything after it is inflated.
    const big = await largeTarGzOf([{ name: "train.mjs", data: TRAIN }, { name: "zeros.bin", zeros: MiB, statedSize: GiB }]);
    const [stated, statedCost] = await measured(() => send(token, big, "big.tar.gz"));
    expect(stated.status).toBe(400);
    expect(stated.json.error!.message).toMatch(/^The archive was refused: it would unpack to at least 1 GB \(1,073,741,932 bytes\), more than the limit of 640 MB unpacked, CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB\./);
    expectCheap(statedCost);
    // Two files of 384 MiB: the first streams through (counted, never held), the second's header passes the limit.
    const two = await largeTarGzOf([{ name: "a.bin", zeros: 384 * MiB }, { name: "b.bin", zeros: 384 * MiB }]);
    const [counted, countedCost] = await measured(() => send(token, two, "two.tar.gz"));
    expect(counted.status).toBe(400);
    expect(counted.json.error!.message).toMatch(/it would unpack to at least 768 MB \(805,306,368 bytes\), more than the limit of 640 MB unpacked/);
    expectCheap(countedCost);
    expect(keptFiles()).toEqual(before);
  }, 180_000);
});

describe("an archive just under the limit", () => {
  it("is accepted, unpacked at dispatch and run, streaming all the way (zip)", async () => {
    const zip = zipOf([{ name: "cairn.json", data: '{"command": ["node", "train.mjs"]}' }, { name: "train.mjs", data: TRAIN }, { name: "zeros.bin", deflated: mib128 }]);
    const [created, uploadCost] = await measured(() => send(token, zip, "big.zip"));
    expect(created).toMatchObject({ status: 201, json: { format: "zip", files: 3, default_command: ["node", "train.mjs"] } });
    expectCheap(uploadCost);

    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = (await createExperiment(ctx, { name: `big-archive-${Date.now()}`, team: "churn" })).experiment_id;
    // Submitting dispatches at once (the scheduler's tick): the archive is unpacked into the job's folder then.
    const [done, runCost] = await measured(async () => {
      const job = await submitJob(ctx, exp, trainJobSchema.parse({ source: String(created.json.id), instance_type: "cpu.small", max_runtime_seconds: 120 }));
      return waitForJob(db(), job.job_id, isFinal, { ms: 120_000 });
    });
    expect(done).toMatchObject({ status: "succeeded" });
    expect(readFileSync(jobLogFile(done.job_id), "utf8")).toContain(`zeros.bin holds ${128 * MiB} bytes`);
    expectCheap(runCost);
  }, 240_000);

  it("is accepted and unpacked, streaming all the way (tar.gz)", async () => {
    const tgz = await largeTarGzOf([{ name: "proj/train.mjs", data: TRAIN }, { name: "proj/zeros.bin", zeros: 128 * MiB }]);
    const [created, uploadCost] = await measured(() => send(token, tgz, "big.tar.gz"));
    expect(created).toMatchObject({ status: 201, json: { format: "tar.gz", files: 2 } });
    expectCheap(uploadCost);
    const [row] = await db().select().from(codeArchives).where(eq(codeArchives.id, String(created.json.id)));
    const out = mkdtempSync(path.join(os.tmpdir(), "cairn-code-limits-out-"));
    try {
      const [files, extractCost] = await measured(() => extractCodeArchive(row!, out));
      expect(files).toBe(2);
      expect(statSync(path.join(out, "zeros.bin")).size).toBe(128 * MiB);
      expect(readFileSync(path.join(out, "train.mjs"), "utf8")).toBe(TRAIN);
      expectCheap(extractCost);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 240_000);
});

describe("the storage quota", () => {
  it("counts code archives: they show in the team's storage, an upload that would go over is refused with nothing kept, deleting one frees its room", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    const storedGib = async () => (await teamUsage(admin, "churn")).used.storage_gib!;
    const random = (bytes: number) => zipOf([{ name: "weights.bin", data: randomBytes(bytes), method: 0 }]);

    const before = await storedGib();
    const first = random(300_000);
    const kept = await send(token, first, "first.zip");
    expect(kept.status).toBe(201);
    expect(await storedGib()).toBeCloseTo(before + first.length / GiB, 5);

    // Room for 200 KB more.
    const [quota] = await db().select({ storageGib: teamQuotas.storageGib }).from(teamQuotas).where(eq(teamQuotas.teamId, churn!.id));
    await db().update(teamQuotas).set({ storageGib: (await storedGib()) + 200_000 / GiB }).where(eq(teamQuotas.teamId, churn!.id));
    try {
      const rows = (await db().select({ id: codeArchives.id }).from(codeArchives)).length;
      const files = keptFiles();
      const over = await send(token, random(300_000), "over.zip");
      expect(over.status).toBe(409);
      expect(over.json.error).toMatchObject({ code: "quota_exceeded", message: expect.stringMatching(/^Team churn uses [\d.]+ GiB of its [\d.]+ GiB artifact storage quota \(artifacts, code archives and registered versions' pinned copies\); this upload does not fit\. Ask an admin to raise the team's storage quota, or delete code archives the team no longer needs/) });
      expect((await db().select({ id: codeArchives.id }).from(codeArchives)).length).toBe(rows);
      expect(keptFiles()).toEqual(files);
      expect((await send(token, random(100_000), "fits.zip")).status).toBe(201);

      // Deleting the first archive gives its room back (about 400 KB now): of two 250 KB uploads at once, one fits.
      const deleted = await remove(new Request(`http://localhost/api/v1/code-archives/${kept.json.id}`, { method: "DELETE", headers: { authorization: `Bearer ${token}` } }), { params: Promise.resolve({ id: String(kept.json.id) }) });
      expect(deleted.status).toBe(204);
      const pair = await Promise.all([1, 2].map((i) => send(token, random(250_000), `parallel-${i}.zip`)));
      expect(pair.map((a) => a.status).sort()).toEqual([201, 409]);
    } finally {
      await db().update(teamQuotas).set({ storageGib: quota!.storageGib }).where(eq(teamQuotas.teamId, churn!.id));
    }
  }, 60_000);
});
