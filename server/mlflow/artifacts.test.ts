// MLflow's proxied artifact API over HTTP (/api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>):
// round trips, download headers, listings, and every path escape refused with nothing written anywhere.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createFsArtifactStore } from "../artifacts/fs-store";
import type { Ctx } from "../context";
import { teamStorageBytes } from "../artifacts/usage";
import { setQuota, teamUsage } from "../teams/admin";
import { artifactStore, uploadArtifact } from "../tracking/artifacts";
import { DEMO, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import type { ErrorBody } from "./test-client";
import { handleArtifacts } from "./artifacts-handler";
import { artifacts, createExperiment, createRun, post } from "./test-client";

// env() reads the upload limit once per module graph; this file runs with a 10 KiB limit.
vi.hoisted(() => {
  process.env.CAIRN_ARTIFACT_MAX_MB = String(10 / 1024);
});
const LIMIT = 10 * 1024;

const db = demoDatabase();
// A store of our own, so the test can see every file written (the store is <base>/store).
const base = mkdtempSync(path.join(os.tmpdir(), "cairn-artifacts-test-"));
const storeDir = path.join(base, "store");
let token = "";
let ctx: Ctx;
let exp = "";
let run = "";

beforeAll(async () => {
  mkdirSync(storeDir);
  (globalThis as unknown as { __cairnArtifacts?: unknown }).__cairnArtifacts = createFsArtifactStore(storeDir);
  token = await tokenFor(db(), DEMO.ds, "churn");
  ctx = await ctxFor(db(), DEMO.ds);
  exp = await createExperiment(token, `artifacts-${Date.now()}`);
  run = (await createRun(token, exp)).run_id;
});

afterAll(() => {
  delete process.env.CAIRN_ARTIFACT_MAX_MB;
  rmSync(base, { recursive: true, force: true });
});

/** Every file under `dir`, relative to it (staging files included). */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const full = path.join(d, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

const prefix = () => `${exp}/${run}/artifacts`;

describe("upload and download", () => {
  it("round-trips bytes and downloads as an attachment that is never rendered", async () => {
    const bytes = new Uint8Array(2048).map((_, i) => i % 256);
    const put = await artifacts(token, "PUT", `${prefix()}/model/weights.bin`, { body: bytes });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({});
    const html = "<script>alert(1)</script>";
    expect((await artifacts(token, "PUT", `${prefix()}/report.html`, { body: html })).status).toBe(200);

    const url = `http://localhost/api/2.0/mlflow-artifacts/artifacts/${prefix()}/model/weights.bin`;
    const res = await handleArtifacts(new Request(url, { headers: { authorization: `Bearer ${token}` } }));
    expect(res.status).toBe(200);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
    expect(res.headers.get("content-type")).toBe("application/octet-stream");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="weights.bin"/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("content-length")).toBe("2048");

    const page = await artifacts(token, "GET", `${prefix()}/report.html`);
    expect(page.headers.get("content-type")).toBe("application/octet-stream");
    expect(page.headers.get("content-disposition")).toMatch(/^attachment;/);
    expect(page.text).toBe(html);

    // Re-uploading replaces the file.
    expect((await artifacts(token, "PUT", `${prefix()}/report.html`, { body: "v2" })).status).toBe(200);
    expect((await artifacts(token, "GET", `${prefix()}/report.html`)).text).toBe("v2");
    expect(filesUnder(storeDir)).toEqual([`churn/${exp}/${run}/model/weights.bin`, `churn/${exp}/${run}/report.html`]);
  });

  it("stores empty files, with or without a request body stream (Content-Length: 0)", async () => {
    expect((await artifacts(token, "PUT", `${prefix()}/empty/a.txt`, { body: "" })).status).toBe(200);
    const url = `http://localhost/api/2.0/mlflow-artifacts/artifacts/${prefix()}/empty/__init__.py`;
    const bodiless = await handleArtifacts(new Request(url, { method: "PUT", headers: { authorization: `Bearer ${token}`, "content-length": "0" } }));
    expect(bodiless.status, await bodiless.clone().text()).toBe(200);
    const down = await artifacts(token, "GET", `${prefix()}/empty/__init__.py`);
    expect(down.status).toBe(200);
    expect(down.text).toBe("");
    expect(down.headers.get("content-length")).toBe("0");
    const listing = await artifacts<{ files: { path: string; file_size?: number }[] }>(token, "GET", "", { query: { path: `${prefix()}/empty` } });
    expect(listing.json.files).toEqual([{ path: "__init__.py", is_dir: false, file_size: 0 }, { path: "a.txt", is_dir: false, file_size: 0 }]);
  });

  it("handles names that need percent-encoding", async () => {
    const name = "résumé (v1) 100%.txt";
    expect((await artifacts(token, "PUT", `${prefix()}/odd/${encodeURIComponent(name)}`, { body: "odd" })).status).toBe(200);
    const down = await artifacts(token, "GET", `${prefix()}/odd/${encodeURIComponent(name)}`);
    expect(down.status).toBe(200);
    expect(down.text).toBe("odd");
    expect(down.headers.get("content-disposition")).toContain(`filename*=UTF-8''${encodeURIComponent(name)}`);
  });

  it("answers 404 for a missing file and for a path outside any run", async () => {
    const missing = await artifacts<ErrorBody>(token, "GET", `${prefix()}/nope.txt`);
    expect(missing.status).toBe(404);
    expect(missing.json.error_code).toBe("RESOURCE_DOES_NOT_EXIST");
    expect((await artifacts(token, "GET", `${prefix()}/model`)).status).toBe(404); // a folder is not a file
    expect((await artifacts(token, "GET", `${exp}/${"0".repeat(32)}/artifacts/x`)).status).toBe(404);
    expect((await artifacts(token, "PUT", `${exp}/${run}/other/x`, { body: "x" })).status).toBe(404);
    const otherExp = await createExperiment(token, `artifacts-other-${Date.now()}`);
    expect((await artifacts(token, "PUT", `${otherExp}/${run}/artifacts/x`, { body: "x" })).status).toBe(404);
  });

  it("lists immediate children by base name; a file path lists as {}", async () => {
    expect((await artifacts(token, "PUT", `${prefix()}/list/a.txt`, { body: "a" })).status).toBe(200);
    expect((await artifacts(token, "PUT", `${prefix()}/list/sub/b.txt`, { body: "bb" })).status).toBe(200);
    const listing = await artifacts<{ files: { path: string; is_dir: boolean; file_size?: number }[] }>(token, "GET", "", { query: { path: `${prefix()}/list` } });
    expect(listing.status).toBe(200);
    expect(listing.json.files).toEqual([{ path: "a.txt", is_dir: false, file_size: 1 }, { path: "sub", is_dir: true }]);
    const sub = await artifacts<{ files: { path: string }[] }>(token, "GET", "", { query: { path: `${prefix()}/list/sub` } });
    expect(sub.json.files).toEqual([{ path: "b.txt", is_dir: false, file_size: 2 }]);
    const file = await artifacts(token, "GET", "", { query: { path: `${prefix()}/list/a.txt` } });
    expect(file.status).toBe(200);
    expect(file.json).toEqual({});
    const empty = await artifacts(token, "GET", "", { query: { path: `${prefix()}/nothing-here` } });
    expect(empty.json).toEqual({});
    expect((await artifacts(token, "GET", "", { query: { path: `${prefix()}/../../..` } })).status).toBe(400);
  });

  it("refuses uploads into a deleted run", async () => {
    const other = (await createRun(token, exp)).run_id;
    await post(token, "runs/delete", { run_id: other });
    const before = filesUnder(storeDir);
    expect((await artifacts(token, "PUT", `${exp}/${other}/artifacts/x.txt`, { body: "x" })).status).toBe(400);
    expect(filesUnder(storeDir)).toEqual(before);
  });
});

describe("path escapes", () => {
  const ESCAPES = [
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fescape.txt",
    "%2E%2E/%2E%2E/%2E%2E/%2E%2E/escape.txt", // resolved by URL parsing to a path outside the API
    "../../../../escape.txt", // likewise
    "..%2f..%2f..%2f..%2fescape.txt",
    "%252E%252E%252Fescape.txt",
    "%252e%252e%252f%252e%252e%252fescape.txt",
    "..%5c..%5c..%5cescape.txt",
    "sub%5c..%5c..%5cescape.txt",
    "%2Fetc%2Fpasswd",
    "%2F%2Fetc%2Fpasswd",
    "C:/Windows/escape.txt",
    "C:%5cWindows%5cescape.txt",
    "c%3A%2Fescape.txt",
    "file:%2F%2F%2Fetc%2Fpasswd",
    "file:escape.txt",
    "escape.txt%00.png",
    "%00",
    "ok%23..%2F..%2Fescape.txt",
    "a%3F..%2Fescape.txt",
    ".%2Fescape.txt",
    "a%0A..%2Fescape.txt",
  ];

  it.each(ESCAPES)("refuses %s inside a run's artifacts with 400 and writes nothing", async (raw) => {
    const before = filesUnder(base);
    const put = await artifacts<ErrorBody>(token, "PUT", `${prefix()}/${raw}`, { body: "pwned" });
    expect(put.status).toBe(400);
    expect(put.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(filesUnder(base)).toEqual(before);
    expect((await artifacts(token, "GET", `${prefix()}/${raw}`)).status).toBe(400);
  });

  const WHOLE = [
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "/proc/self/root/etc/passwd",
    "C:/Windows/win.ini",
    "file:///etc/passwd",
    "%2e%2e%2f%2e%2e%2fescape.txt",
    `%2e%2e/${"x"}/artifacts/escape.txt`,
  ];

  it.each(WHOLE)("refuses %s as the whole artifact path with 400", async (raw) => {
    const before = filesUnder(base);
    const put = await artifacts<ErrorBody>(token, "PUT", raw, { body: "pwned" });
    expect(put.status).toBe(400);
    expect(filesUnder(base)).toEqual(before);
    expect((await artifacts(token, "GET", raw)).status).toBe(400);
    expect((await artifacts(token, "GET", "", { query: { path: decodeURIComponent(raw) } })).status).toBe(400);
  });

  it("refuses raw escapes given straight to the service (no URL normalization in between)", async () => {
    const raws = [
      `${prefix()}/../../../../escape.txt`,
      `${prefix()}/../../${run}/artifacts/escape.txt`,
      `${prefix()}/sub/../../escape.txt`,
      `${exp}/${run}/artifacts/..`,
      `../${exp}/${run}/artifacts/escape.txt`,
      `${prefix()}/..\\..\\escape.txt`,
      `${prefix()}//etc/passwd`,
      `/etc/passwd`,
      `//proc/self/root/etc/passwd`,
      `C:/Windows/escape.txt`,
      `C:\\Windows\\escape.txt`,
      `file:///etc/passwd`,
      `${prefix()}/escape.txt\u0000.png`,
      `${prefix()}/a#../../escape.txt`,
      `${prefix()}/a?x=../escape.txt`,
      `${prefix()}/%2e%2e/escape.txt`,
      `${prefix()}/./escape.txt`,
      `${prefix()}/${"a".repeat(300)}`,
    ];
    for (const raw of raws) {
      const before = filesUnder(base);
      const body = new Blob(["pwned"]).stream();
      await expect(uploadArtifact(ctx, raw, body), raw).rejects.toMatchObject({ code: "invalid_input" });
      expect(filesUnder(base), raw).toEqual(before);
    }
  });
});

describe("after every escape attempt", () => {
  it("no escape.txt exists outside the store either", () => {
    for (const dir of [base, path.dirname(base), os.tmpdir(), process.cwd(), path.join(storeDir, "churn"), path.join(storeDir, "churn", exp)]) {
      expect(existsSync(path.join(dir, "escape.txt")), dir).toBe(false);
    }
    expect(filesUnder(base).filter((f) => f.includes("escape") || f.includes("pwned"))).toEqual([]);
  });
});

describe("upload size limit", () => {
  it("refuses a body over the limit with 400 and stores nothing", async () => {
    const before = filesUnder(base);
    const big = await artifacts<ErrorBody>(token, "PUT", `${prefix()}/big/too-big.bin`, { body: new Uint8Array(LIMIT + 1) });
    expect(big.status).toBe(400);
    expect(big.json.error_code).toBe("INVALID_PARAMETER_VALUE");
    expect(big.json.message).toMatch(/limit/);
    expect(filesUnder(base)).toEqual(before);
    expect((await artifacts(token, "GET", `${prefix()}/big/too-big.bin`)).status).toBe(404);
    // The existing file is kept when a replacement is too big.
    expect((await artifacts(token, "PUT", `${prefix()}/keep.bin`, { body: new Uint8Array(LIMIT).fill(7) })).status).toBe(200);
    expect((await artifacts(token, "PUT", `${prefix()}/keep.bin`, { body: new Uint8Array(LIMIT * 2) })).status).toBe(400);
    const kept = await artifacts(token, "GET", `${prefix()}/keep.bin`);
    expect(kept.headers.get("content-length")).toBe(String(LIMIT));
  });
});

describe("artifact storage quota", () => {
  it("an upload that would take the team over its storage quota is refused (RESOURCE_EXHAUSTED) and nothing is kept; usage shows the bytes", async () => {
    const admin = await ctxFor(db(), DEMO.admin);
    const usedBefore = (await teamUsage(admin, "churn")).used.storage_gib;
    const bytesBefore = await teamStorageBytes(artifactStore(), "churn", { fresh: true });
    expect(bytesBefore).toBeGreaterThan(LIMIT); // what the tests above stored
    expect(usedBefore).toBeCloseTo(bytesBefore / 2 ** 30, 2);
    // Room for 6 KiB more.
    const quota = { cpu: 64, memory_gib: 256, gpus: 8, max_concurrent_jobs: 10, max_deployments: 10, monthly_budget_usd: 5000, storage_gib: (bytesBefore + 6 * 1024) / 2 ** 30 };
    await setQuota(admin, "churn", quota);
    const before = filesUnder(base);
    const over = await artifacts<ErrorBody>(token, "PUT", `${prefix()}/quota/too-much.bin`, { body: new Uint8Array(7 * 1024) });
    expect(over.status).toBe(429);
    expect(over.json).toMatchObject({ error_code: "RESOURCE_EXHAUSTED" });
    expect(over.json.message).toMatch(/artifact storage quota/);
    expect(filesUnder(base)).toEqual(before);
    expect((await artifacts(token, "PUT", `${prefix()}/quota/fits.bin`, { body: new Uint8Array(5 * 1024) })).status).toBe(200);
    // 1 KiB of room left: a 2 KiB upload is refused before a byte is read.
    const full = await artifacts<ErrorBody>(token, "PUT", `${prefix()}/quota/second.bin`, { body: new Uint8Array(2 * 1024) });
    expect(full.status).toBe(429);
    expect(await teamStorageBytes(artifactStore(), "churn", { fresh: true })).toBe(bytesBefore + 5 * 1024);
    // Another team's quota is its own: fraud uploads freely.
    const fraudToken = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const fraudExp = await createExperiment(fraudToken, `quota-${Date.now()}`);
    const fraudRun = (await createRun(fraudToken, fraudExp)).run_id;
    expect((await artifacts(fraudToken, "PUT", `${fraudExp}/${fraudRun}/artifacts/a.bin`, { body: new Uint8Array(8 * 1024) })).status).toBe(200);
    // ...and cannot write into churn's run at all.
    expect((await artifacts(fraudToken, "PUT", `${prefix()}/quota/foreign.bin`, { body: "x" })).status).toBe(404);
    expect((await artifacts(token, "GET", `${prefix()}/quota/foreign.bin`)).status).toBe(404);
    // Two uploads at once that fit one at a time but not together: one is refused, the quota is not overshot.
    const now = await teamStorageBytes(artifactStore(), "churn", { fresh: true });
    await setQuota(admin, "churn", { ...quota, storage_gib: (now + 6 * 1024) / 2 ** 30 });
    const pair = await Promise.all([1, 2].map((i) => artifacts<ErrorBody>(token, "PUT", `${prefix()}/quota/parallel-${i}.bin`, { body: new Uint8Array(4 * 1024) })));
    expect(pair.map((r) => r.status).sort()).toEqual([200, 429]);
    expect(await teamStorageBytes(artifactStore(), "churn", { fresh: true })).toBe(now + 4 * 1024);
    expect(pair.find((r) => r.status === 429)!.json.message).toMatch(/Ask an admin to raise/);
    await setQuota(admin, "churn", { ...quota, storage_gib: null });
    expect((await artifacts(token, "PUT", `${prefix()}/quota/second.bin`, { body: new Uint8Array(2 * 1024) })).status).toBe(200);
  });
});
