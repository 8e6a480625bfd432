// POST/GET /api/v1/code-archives and GET/DELETE /api/v1/code-archives/{id}: uploads as a raw body (scripts)
// and as a multipart form (browsers), refusals as 400 invalid_input with nothing kept, team scoping, a job
// trained from an upload through the REST API whose code route serves the same files, and who may delete
// an archive when.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { and, eq } from "drizzle-orm";
import { afterAll, describe, expect, it, vi } from "vitest";
import { auditEvents, codeArchives } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { cancelJob, submitJob } from "@/server/jobs/service";
import { tarGzOf, zipOf } from "@/server/jobs/testing/archives";
import { isFinal, waitForJob } from "@/server/jobs/testing/wait";
import { call, ctxFor, DEMO, demoDatabase, tokenFor } from "@/server/testing/fixtures";
import { readRunArtifact } from "@/server/tracking/artifacts";
import { createExperiment as newExperiment } from "@/server/tracking/experiments";
import { POST as createExperiment } from "../experiments/route";
import { POST as train } from "../experiments/[id]/train/route";
import { GET as jobCode } from "../jobs/[id]/code/route";
import { DELETE as remove, GET as getOne } from "./[id]/route";
import { GET as list, POST as upload } from "./route";
import { flushDenials } from "@/server/audit/denials";

const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-code-route-"));
vi.stubEnv("CAIRN_DATA_DIR", dataDir);
vi.stubEnv("CAIRN_CODE_ARCHIVE_MAX_MB", "0.05");
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dataDir, { recursive: true, force: true });
});

const db = demoDatabase();

const PROJECT = [
  { name: "cairn.json", data: '{"command": ["node", "train.mjs"]}' },
  { name: "train.mjs", data: 'import { readFileSync } from "node:fs"; console.log("rows:", readFileSync("data/rows.csv", "utf8").trim().split("\\n").length);' },
  { name: "data/rows.csv", data: "a\n1\n2\n3\n" },
];

type Answer = { status: number; json: Record<string, unknown> };

async function send(req: Request, handler: (req: Request, ctx: { params: Promise<Record<string, string>> }) => Promise<Response> = upload, params: Record<string, string> = {}): Promise<Answer> {
  const res = await handler(req, { params: Promise.resolve(params) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

function raw(token: string | null, body: BodyInit, query: string, contentType = "application/zip", headers: Record<string, string> = {}): Request {
  return new Request(`http://localhost/api/v1/code-archives?${query}`, {
    method: "POST", body, duplex: "half",
    headers: { "content-type": contentType, ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  } as RequestInit);
}

function multipart(token: string, file: Blob | string, name: string, query = "team=churn"): Request {
  const form = new FormData();
  if (typeof file === "string") form.set("file", file);
  else form.set("file", file, name);
  return new Request(`http://localhost/api/v1/code-archives?${query}`, { method: "POST", body: form, headers: { authorization: `Bearer ${token}` } });
}

const message = (a: Answer) => (a.json.error as { message: string }).message;

describe("POST /api/v1/code-archives", () => {
  it("takes the archive as the raw body (curl --data-binary) and as a form's file field (browsers)", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const zip = zipOf(PROJECT);
    const created = await send(raw(token, new Uint8Array(zip), "team=churn&filename=tiny.zip"));
    expect(created).toEqual({
      status: 201,
      json: {
        id: expect.any(String), team: "churn", filename: "tiny.zip", format: "zip", size_bytes: zip.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
        files: 3, default_command: ["node", "train.mjs"], created_by: DEMO.ds, created_at: expect.any(String),
      },
    });
    const tgz = tarGzOf(PROJECT.map((e) => ({ ...e, name: `tiny-main/${e.name}` })));
    const fromForm = await send(multipart(token, new Blob([new Uint8Array(tgz)]), "tiny-main.tgz"));
    expect(fromForm).toMatchObject({ status: 201, json: { filename: "tiny-main.tgz", format: "tar.gz", files: 3, default_command: ["node", "train.mjs"] } });
    // Gzip's own content types are accepted too, and the token's team is the default.
    expect((await send(raw(token, new Uint8Array(tgz), "", "application/x-gzip"))).json).toMatchObject({ team: "churn", filename: "code.tar.gz" });

    const listed = await send(new Request("http://localhost/api/v1/code-archives?team=churn", { headers: { authorization: `Bearer ${token}` } }), list);
    expect(listed.status).toBe(200);
    expect((listed.json.code_archives as { id: string }[]).map((a) => a.id)).toEqual(expect.arrayContaining([created.json.id, fromForm.json.id]));
    const one = await send(new Request(`http://localhost/api/v1/code-archives/${created.json.id}`, { headers: { authorization: `Bearer ${token}` } }), getOne, { id: String(created.json.id) });
    expect(one).toEqual({ status: 200, json: created.json });
  });

  it("answers 400 invalid_input saying what is wrong, and keeps nothing", async () => {
    const token = await tokenFor(db(), DEMO.mle, "churn");
    const before = (await send(new Request("http://localhost/api/v1/code-archives?team=churn", { headers: { authorization: `Bearer ${token}` } }), list)).json.code_archives;
    const evil = await send(raw(token, new Uint8Array(zipOf([{ name: "..\\..\\startup.bat", data: "x" }])), "team=churn&filename=evil.zip"));
    expect(evil.status).toBe(400);
    expect(evil.json.error).toMatchObject({ code: "invalid_input", message: expect.stringContaining('entry "..\\\\..\\\\startup.bat" has a ".." segment') });
    expect(message(await send(raw(token, "print('hi')", "team=churn", "text/x-python")))).toMatch(/Content-Type "text\/x-python" is not accepted\. Send the file as the body with Content-Type application\/zip, application\/gzip, application\/x-gzip, application\/octet-stream/);
    expect(message(await send(raw(token, "print('hi')", "team=churn", "application/octet-stream")))).toMatch(/neither a zip file nor a gzip-compressed tar/);
    expect(message(await send(multipart(token, "not a file", "x")))).toBe('The form has no file in the field "file"; send the archive as that field.');
    // Over CAIRN_CODE_ARCHIVE_MAX_MB (0.05 MB here): refused from its declared length, and when streamed without one.
    const big = new Uint8Array(60_000);
    expect(message(await send(raw(token, big, "team=churn", "application/zip", { "content-length": String(big.length) })))).toMatch(/larger than the 51.2 KB limit \(CAIRN_CODE_ARCHIVE_MAX_MB\)/);
    const stream = new ReadableStream<Uint8Array>({ start(c) { for (let i = 0; i < 10; i++) c.enqueue(new Uint8Array(10_000)); c.close(); } });
    expect(message(await send(raw(token, stream, "team=churn")))).toMatch(/larger than the 51.2 KB limit/);
    const after = (await send(new Request("http://localhost/api/v1/code-archives?team=churn", { headers: { authorization: `Bearer ${token}` } }), list)).json.code_archives;
    expect(after).toEqual(before);
    const kept = readdirSync(dataDir, { recursive: true, encoding: "utf8" }).filter((f) => f.startsWith("code") && statSync(path.join(dataDir, f)).isFile());
    expect(kept.every((f) => !f.includes(".tmp"))).toBe(true);
  });

  it("is team-scoped: 401 without credentials, 404 for another team's archive or team", async () => {
    expect((await send(raw(null, new Uint8Array(zipOf(PROJECT)), "team=churn"))).status).toBe(401);
    const mine = await send(raw(await tokenFor(db(), DEMO.ds, "churn"), new Uint8Array(zipOf(PROJECT)), "team=churn&filename=mine.zip"));
    const stranger = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const read = await send(new Request(`http://localhost/api/v1/code-archives/${mine.json.id}`, { headers: { authorization: `Bearer ${stranger}` } }), getOne, { id: String(mine.json.id) });
    expect(read).toMatchObject({ status: 404, json: { error: { code: "not_found" } } });
    expect((await send(raw(stranger, new Uint8Array(zipOf(PROJECT)), "team=churn"))).status).toBe(404);
    const theirs = await send(new Request("http://localhost/api/v1/code-archives", { headers: { authorization: `Bearer ${stranger}` } }), list);
    expect((theirs.json.code_archives as { team: string }[]).every((a) => a.team === "fraud")).toBe(true);
  });
});

describe("training from an uploaded archive", () => {
  it("POST …/train with the archive's id runs it, and GET /api/v1/jobs/{id}/code serves its files as .tar.gz", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const archive = await send(raw(token, new Uint8Array(zipOf(PROJECT.map((e) => ({ ...e, name: `tiny-main/${e.name}` })))), "team=churn&filename=tiny-main.zip"));
    const exp = await call(createExperiment, { method: "POST", path: "/api/v1/experiments", token, body: { name: `from-upload-${Date.now()}` } });
    const experimentId = String((exp.json as { experiment_id: string }).experiment_id);
    const submitted = await call(train, { method: "POST", path: `/api/v1/experiments/${experimentId}/train`, token, params: { id: experimentId }, body: { source: archive.json.id, instance_type: "cpu.small", max_runtime_seconds: 60 } });
    expect(submitted.status).toBe(202);
    const jobId = (submitted.json as { job_id: string }).job_id;
    expect(await waitForJob(db(), jobId, isFinal)).toMatchObject({ status: "succeeded", source: archive.json.id, code_archive: { filename: "tiny-main.zip" } });

    const res = await jobCode(new Request(`http://localhost/api/v1/jobs/${jobId}/code`, { headers: { authorization: `Bearer ${token}` } }), { params: Promise.resolve({ id: jobId }) });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="tiny-main.tar.gz"');
    const out = mkdtempSync(path.join(os.tmpdir(), "cairn-code-route-out-"));
    try {
      writeFileSync(path.join(out, ".code.tar.gz"), Buffer.from(await res.arrayBuffer()));
      execFileSync("tar", ["-xzf", ".code.tar.gz"], { cwd: out });
      for (const e of PROJECT) expect(readFileSync(path.join(out, e.name), "utf8")).toBe(e.data);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe("DELETE /api/v1/code-archives/{id}", () => {
  const del = (token: string, id: string) =>
    call(remove, { method: "DELETE", path: `/api/v1/code-archives/${id}`, token, params: { id } });
  const get = (token: string, id: string) => send(new Request(`http://localhost/api/v1/code-archives/${id}`, { headers: { authorization: `Bearer ${token}` } }), getOne, { id });
  const uploadAs = async (email: string, filename: string) => {
    const answer = await send(raw(await tokenFor(db(), email, "churn"), new Uint8Array(zipOf(PROJECT)), `team=churn&filename=${filename}`));
    expect(answer.status).toBe(201);
    return String(answer.json.id);
  };
  const fileOf = async (id: string) => {
    const [row] = await db().select({ storagePath: codeArchives.storagePath }).from(codeArchives).where(eq(codeArchives.id, id));
    return row && path.join(dataDir, row.storagePath);
  };
  const audits = async (id: string) => (await flushDenials(db()), db().select().from(auditEvents).where(and(eq(auditEvents.action, "code_archive.delete"), eq(auditEvents.target, `code_archive:${id}`))));

  it("its uploader deletes it: 204, the row and the file are gone, audited; afterwards it answers 404", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const id = await uploadAs(DEMO.ds, "mine.zip");
    const file = (await fileOf(id))!;
    expect(readFileSync(file).length).toBeGreaterThan(0);
    const answer = await del(token, id);
    expect(answer.status).toBe(204);
    expect(await fileOf(id)).toBeUndefined();
    expect(() => statSync(file)).toThrow(/ENOENT/);
    expect(await audits(id)).toEqual([expect.objectContaining({ outcome: "allowed", actor: `${DEMO.ds} (token)`, team: "churn", details: expect.objectContaining({ filename: "mine.zip", uploaded_by: DEMO.ds }) })]);
    expect((await get(token, id)).status).toBe(404);
    expect(await del(token, id)).toMatchObject({ status: 404, json: { error: { code: "not_found", message: `Code archive ${id} was not found.` } } });
  });

  it("another member may not (403, audited, nothing deleted); a team lead and an admin may", async () => {
    const id = await uploadAs(DEMO.ds, "theirs.zip");
    const other = await del(await tokenFor(db(), DEMO.mle, "churn"), id);
    expect(other).toMatchObject({ status: 403, json: { error: { code: "forbidden", message: `Only the archive's uploader (${DEMO.ds}) or a team lead of churn may delete code archive theirs.zip (${id}).` } } });
    expect(await audits(id)).toEqual([expect.objectContaining({ outcome: "denied", actor: `${DEMO.mle} (token)` })]);
    expect(await fileOf(id)).toBeDefined();
    expect((await del(await tokenFor(db(), DEMO.lead, "churn"), id)).status).toBe(204);
    const second = await uploadAs(DEMO.mle, "second.zip");
    expect((await del(await tokenFor(db(), DEMO.admin, "churn"), second)).status).toBe(204);
  });

  it("another team's archive answers 404 to anyone there, team lead included, as an unknown id does", async () => {
    const id = await uploadAs(DEMO.ds, "private.zip");
    for (const email of [DEMO.dsFraud, DEMO.leadFraud]) {
      expect(await del(await tokenFor(db(), email, "fraud"), id)).toMatchObject({ status: 404, json: { error: { code: "not_found", message: `Code archive ${id} was not found.` } } });
    }
    expect(await audits(id)).toEqual([expect.objectContaining({ outcome: "denied", actor: `${DEMO.dsFraud} (token)` }), expect.objectContaining({ outcome: "denied", actor: `${DEMO.leadFraud} (token)` })]);
    expect(await fileOf(id)).toBeDefined();
    const token = await tokenFor(db(), DEMO.ds, "churn");
    expect((await del(token, "00000000-0000-4000-8000-000000000000")).status).toBe(404);
    expect((await del(token, "not-an-id")).status).toBe(404);
    expect((await del(token, id.toUpperCase())).status).toBe(204);
  });

  it("an archive an unfinished job needs answers 409 naming the job; once the job ends it can go, and the run keeps its code", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const id = await uploadAs(DEMO.ds, "busy.zip");
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = (await newExperiment(ctx, { name: `busy-archive-${Date.now()}`, team: "churn" })).experiment_id;
    const job = await submitJob(ctx, exp, trainJobSchema.parse({ source: id, command: ["node", "-e", "setTimeout(() => {}, 60000)"], instance_type: "cpu.small", max_runtime_seconds: 120 }));
    expect(["queued", "admitted", "running"]).toContain(job.status);
    const busy = await del(token, id);
    expect(busy.status).toBe(409);
    expect(busy.json).toMatchObject({ error: { code: "conflict", message: expect.stringMatching(new RegExp(`^Code archive busy\\.zip \\(${id}\\) is the code of 1 unfinished job: ${job.job_id} \\((queued|admitted|running)\\)\\. Cancel them or wait for them to finish, then delete it\\.$`)) } });
    expect(await fileOf(id)).toBeDefined();
    // Once it starts, the run keeps a copy of its code (the scheduler writes it as it dispatches the job).
    await waitForJob(db(), job.job_id, (j) => j.status === "running");
    await cancelJob(ctx, job.job_id);
    expect(await waitForJob(db(), job.job_id, isFinal)).toMatchObject({ status: "cancelled" });
    expect((await del(token, id)).status).toBe(204);
    // The run's code snapshot is its own copy.
    const snapshot = await readRunArtifact(ctx, job.run_id, "code/busy.zip");
    expect(Buffer.from(await new Response(snapshot!.stream).arrayBuffer())).toEqual(zipOf(PROJECT));
    // A job can no longer name it.
    await expect(submitJob(ctx, exp, trainJobSchema.parse({ source: id, command: ["true"], instance_type: "cpu.small" }))).rejects.toMatchObject({ code: "invalid_input" });
  });
});
