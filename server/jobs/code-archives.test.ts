// Uploaded code archives through the service layer: kept as uploaded with what they hold, refused with
// nothing written, scoped to their team, and used by a job on the local executor (unpacked into its
// folder, kept as its run's code snapshot, served as .tar.gz by the code route).
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { and, eq, inArray } from "drizzle-orm";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { auditEvents, codeArchives, jobs, runTags, teams } from "@/db/schema";
import { trainJobSchema } from "@/lib/schemas/jobs";
import { flushDenials } from "../audit/denials";
import { createExperiment } from "../tracking/experiments";
import { readRunArtifact } from "../tracking/artifacts";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { getJobCode } from "./code";
import { getCodeArchive, listCodeArchives, uploadCodeArchive } from "./code-archives";
import { cancelJob, jobLogFile, submitJob } from "./service";
import { tarGzOf, zipOf } from "./testing/archives";
import { isFinal, waitForJob } from "./testing/wait";

// Each run of this file keeps its archives (and job folders) in its own data directory, with a small limit.
const dataDir = mkdtempSync(path.join(os.tmpdir(), "cairn-code-data-"));
vi.stubEnv("CAIRN_DATA_DIR", dataDir);
vi.stubEnv("CAIRN_CODE_ARCHIVE_MAX_MB", "0.25");
afterAll(() => {
  vi.unstubAllEnvs();
  rmSync(dataDir, { recursive: true, force: true });
});

const db = demoDatabase();

/** A tiny training program: reads its data file, checks its own layout, prints what it found. */
const TRAIN = `
import { readFileSync, statSync } from "node:fs";
const data = readFileSync("data/input.txt", "utf8").trim();
const executable = (statSync("run.sh").mode & 0o111) !== 0;
console.log("read: " + data + "; run.sh executable: " + executable + "; args: " + process.argv.slice(2).join(" "));
`;

const project = (top = "") => [
  { name: `${top}cairn.json`, data: JSON.stringify({ name: "tiny", command: ["node", "train.mjs", "--from-manifest"] }) },
  { name: `${top}train.mjs`, data: TRAIN },
  { name: `${top}run.sh`, data: "#!/bin/sh\necho hi\n", mode: 0o100755 },
  { name: `${top}data/input.txt`, data: "hello from the archive\n" },
];

async function upload(buf: Buffer, opts: { email?: string; team?: string; filename?: string } = {}) {
  return uploadCodeArchive(await ctxFor(db(), opts.email ?? DEMO.ds), { team: opts.team ?? "churn", filename: opts.filename, body: Readable.from([buf]) });
}

const refusal = (p: Promise<unknown>) => p.then(() => "accepted", (err: Error & { code?: string }) => `${err.code}: ${err.message}`);

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => statSync(path.join(dir, f)).isFile());
}

async function teamId(slug: string): Promise<string> {
  const [t] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, slug));
  return t!.id;
}

afterEach(async () => {
  const active = await db().select({ id: jobs.id }).from(jobs).where(inArray(jobs.status, ["queued", "admitted", "running"]));
  const admin = await ctxFor(db(), DEMO.admin);
  for (const j of active) await cancelJob(admin, j.id).catch(() => undefined);
  for (const j of active) await waitForJob(db(), j.id, isFinal).catch(() => undefined);
});

describe("uploading", () => {
  it("keeps a zip as uploaded, with its file count, checksum and default command, and audits it", async () => {
    const zip = zipOf(project());
    const archive = await upload(zip, { filename: "tiny project.zip" });
    expect(archive).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/), team: "churn", filename: "tiny_project.zip", format: "zip", size_bytes: zip.length,
      sha256: createHash("sha256").update(zip).digest("hex"), files: 4, default_command: ["node", "train.mjs", "--from-manifest"],
      created_by: DEMO.ds, created_at: expect.any(String),
    });
    const kept = path.join(dataDir, "code", await teamId("churn"), `${archive.id}.zip`);
    expect(readFileSync(kept)).toEqual(zip);
    const ctx = await ctxFor(db(), DEMO.mle);
    expect(await getCodeArchive(ctx, archive.id)).toEqual(archive);
    expect((await listCodeArchives(ctx, { team: "churn" })).code_archives.map((a) => a.id)).toContain(archive.id);
    await flushDenials(db());
    const [audit] = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "code_archive.upload"), eq(auditEvents.target, `code_archive:${archive.id}`)));
    expect(audit).toMatchObject({ outcome: "allowed", team: "churn", actor: DEMO.ds, details: expect.objectContaining({ sha256: archive.sha256, files: 4 }) });
  });

  it("keeps a .tar.gz, unwrapping its single top-level folder", async () => {
    const tgz = tarGzOf(project("tiny-main/"));
    const archive = await upload(tgz, { filename: "tiny-main.tar.gz" });
    expect(archive).toMatchObject({ format: "tar.gz", files: 4, default_command: ["node", "train.mjs", "--from-manifest"], filename: "tiny-main.tar.gz" });
    expect(readFileSync(path.join(dataDir, "code", await teamId("churn"), `${archive.id}.tar.gz`))).toEqual(tgz);
  });

  it("refuses what is not a safe archive, or too large, and keeps nothing", async () => {
    const before = await db().select({ id: codeArchives.id }).from(codeArchives);
    const filesBefore = filesUnder(path.join(dataDir, "code")).length;
    expect(await refusal(upload(Buffer.from("print('hi')"), { filename: "train.py" }))).toMatch(/^invalid_input: The archive was refused: it is neither a zip file nor a gzip-compressed tar/);
    expect(await refusal(upload(zipOf([{ name: "../../../etc/cron.d/evil", data: "x" }])))).toMatch(/has a "\.\." segment, which would write outside the job's folder/);
    expect(await refusal(upload(tarGzOf([{ name: "link", type: "2", linkname: "/etc/passwd" }])))).toMatch(/is a symbolic link/);
    expect(await refusal(upload(Buffer.alloc(0)))).toMatch(/The archive is empty/);
    // Over CAIRN_CODE_ARCHIVE_MAX_MB (0.25 MB here): random bytes do not compress.
    expect(await refusal(upload(zipOf([{ name: "weights.bin", data: randomBytes(300_000) }])))).toMatch(/^invalid_input: The archive is larger than the 256 KB limit \(CAIRN_CODE_ARCHIVE_MAX_MB\)/);
    // Under it, but more than ten times that unpacked.
    expect(await refusal(upload(zipOf([{ name: "zeros.bin", data: Buffer.alloc(3_000_000) }])))).toMatch(/would unpack to at least 2.9 MB \(3,000,000 bytes\), more than the limit of 2.5 MB unpacked, CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB/);
    expect(await db().select({ id: codeArchives.id }).from(codeArchives)).toEqual(before);
    expect(filesUnder(path.join(dataDir, "code"))).toHaveLength(filesBefore);
  });

  it("keeps archives to their team: another team's reads answer not found (audited), its uploads are refused", async () => {
    const archive = await upload(zipOf(project()));
    const stranger = await ctxFor(db(), DEMO.dsFraud);
    await expect(getCodeArchive(stranger, archive.id)).rejects.toMatchObject({ code: "not_found", message: `Code archive ${archive.id} was not found.` });
    await flushDenials(db());
    const [denied] = await db().select().from(auditEvents).where(and(eq(auditEvents.action, "code_archive.read"), eq(auditEvents.target, `code_archive:${archive.id}`)));
    expect(denied).toMatchObject({ outcome: "denied", actor: DEMO.dsFraud });
    await expect(listCodeArchives(stranger, { team: "churn" })).rejects.toMatchObject({ code: "not_found" });
    expect((await listCodeArchives(stranger, {})).code_archives.map((a) => a.team)).not.toContain("churn");
    await expect(upload(zipOf(project()), { email: DEMO.dsFraud, team: "churn" })).rejects.toMatchObject({ code: "not_found" });
    // A job of another team cannot name it as its source; the answer is the same as for an unknown id.
    const exp = (await createExperiment(stranger, { name: `foreign-code-${Date.now()}`, team: "fraud" })).experiment_id;
    const jobsBefore = (await db().select({ id: jobs.id }).from(jobs)).length;
    const unknown = (id: string) => submitJob(stranger, exp, trainJobSchema.parse({ source: id, instance_type: "cpu.small" }));
    const foreign = await refusal(unknown(archive.id));
    expect(foreign).toBe(`invalid_input: Unknown code source "${archive.id}". Use a built-in example such as "examples/churn", or the id of a code archive uploaded to team fraud (POST /api/v1/code-archives).`);
    expect(await refusal(unknown("00000000-0000-4000-8000-000000000000"))).toBe(foreign.replace(archive.id, "00000000-0000-4000-8000-000000000000"));
    expect((await db().select({ id: jobs.id }).from(jobs)).length).toBe(jobsBefore);
  });
});

describe("a job with an uploaded archive", () => {
  it("runs the archive's default command in its unpacked content, keeps the archive as the run's code snapshot, and serves it as .tar.gz", async () => {
    const zip = zipOf(project("tiny-main/"));
    const archive = await upload(zip, { filename: "tiny-main.zip" });
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = (await createExperiment(ctx, { name: `archive-job-${Date.now()}`, team: "churn" })).experiment_id;
    const job = await submitJob(ctx, exp, trainJobSchema.parse({ source: archive.id, instance_type: "cpu.small", max_runtime_seconds: 60 }));
    expect(job).toMatchObject({
      source: archive.id, command: ["node", "train.mjs", "--from-manifest"], name: "tiny-main.zip on cpu.small",
      code_archive: { id: archive.id, filename: "tiny-main.zip", format: "zip", files: 4, size_bytes: zip.length },
    });
    const done = await waitForJob(db(), job.job_id, isFinal);
    expect(done).toMatchObject({ status: "succeeded", exit_code: 0 });
    expect(readFileSync(jobLogFile(job.job_id), "utf8")).toContain("read: hello from the archive; run.sh executable: true; args: --from-manifest");

    // The run's code snapshot: the archive as uploaded, and the source tags naming it.
    const snapshot = await readRunArtifact(ctx, job.run_id, "code/tiny-main.zip");
    expect(Buffer.from(await new Response(snapshot!.stream).arrayBuffer())).toEqual(zip);
    const tags = Object.fromEntries((await db().select().from(runTags).where(eq(runTags.runId, job.run_id))).map((t) => [t.key, t.value]));
    expect(tags).toMatchObject({ "mlflow.source.name": "tiny-main.zip", "cairn.code_archive": archive.id, "mlflow.source.type": "JOB" });

    // The code route's .tar.gz unpacks (GNU tar) to the archive's content, unwrapped.
    const code = await getJobCode(await ctxFor(db(), DEMO.mle), job.job_id);
    expect(code.filename).toBe("tiny-main.tar.gz");
    const out = mkdtempSync(path.join(os.tmpdir(), "cairn-code-out-"));
    try {
      // An uploaded archive's .tar.gz streams.
      expect(code.body).toBeInstanceOf(Readable);
      writeFileSync(path.join(out, "code.tar.gz"), Buffer.concat(await (code.body as Readable).toArray()));
      execFileSync("tar", ["-xzf", "code.tar.gz", "--exclude", "code.tar.gz"], { cwd: out });
      rmSync(path.join(out, "code.tar.gz"));
      expect(filesUnder(out).sort()).toEqual(["cairn.json", "data/input.txt", "run.sh", "train.mjs"]);
      expect(readFileSync(path.join(out, "train.mjs"), "utf8")).toBe(TRAIN);
      expect(statSync(path.join(out, "run.sh")).mode & 0o111).not.toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
    await expect(getJobCode(await ctxFor(db(), DEMO.dsFraud), job.job_id)).rejects.toMatchObject({ code: "not_found" });
  });

  it("an archive without cairn.json needs a command, and runs it", async () => {
    const archive = await upload(tarGzOf(project().filter((e) => e.name !== "cairn.json")));
    expect(archive.default_command).toBeNull();
    const ctx = await ctxFor(db(), DEMO.ds);
    const exp = (await createExperiment(ctx, { name: `archive-cmd-${Date.now()}`, team: "churn" })).experiment_id;
    const submit = (body: Record<string, unknown>) => submitJob(ctx, exp, trainJobSchema.parse({ source: archive.id, instance_type: "cpu.small", max_runtime_seconds: 60, ...body }));
    await expect(submit({})).rejects.toThrow(`${archive.filename} has no default command (no cairn.json with a "command" at its root); give command.`);
    const job = await submit({ command: ["node", "train.mjs", "--given"] });
    expect(await waitForJob(db(), job.job_id, isFinal)).toMatchObject({ status: "succeeded" });
    expect(readFileSync(jobLogFile(job.job_id), "utf8")).toContain("read: hello from the archive; run.sh executable: true; args: --given");
  });
});
