// Uploaded code archives (POST /api/v1/code-archives): a team's training code as a zip or .tar.gz,
// read in full (streaming, with a running count of what it unpacks to) and checked before anything is
// kept, stored as uploaded under <data dir>/code/<team id>/<id>.<ext> within the team's storage quota, and
// never changed afterwards. Jobs name one as their source: dispatch unpacks it into the attempt's folder,
// GET /api/v1/jobs/{id}/code serves it as a .tar.gz. An archive no unfinished job needs can be deleted.
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { DbOrTx } from "@/db/client";
import { codeArchives, jobs, teams } from "@/db/schema";
import { chunksOf } from "../artifacts/fs-store";
import { withStorageRoom } from "../artifacts/usage";
import { appendAudit, denied } from "../audit/record";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { env } from "../env";
import { AppError } from "../errors";
import { homeTeam } from "../tracking/access";
import { artifactStore } from "../tracking/artifacts";
import { formatBytes, MAX_ENTRIES } from "./archive/entries";
import type { ArchiveLimits } from "./archive/entries";
import { archiveContent, inspectArchive } from "./archive/read";
import { tarGzStream } from "./tar";
import { log } from "../observability/log";

export type CodeArchiveDto = {
  id: string;
  team: string;
  filename: string;
  format: "zip" | "tar.gz";
  size_bytes: number;
  sha256: string;
  files: number;
  default_command: string[] | null;
  created_by: string;
  created_at: string;
};

export type CodeArchiveRow = typeof codeArchives.$inferSelect;


export function isArchiveId(source: string): boolean {
  return UUID.test(source);
}

/** What an archive may unpack to (by default ten times its size limit: source compresses well, a zip bomb does not fit). */
export function codeArchiveLimits(): ArchiveLimits {
  return { maxEntries: MAX_ENTRIES, maxUnpackedBytes: env().codeArchiveMaxUnpackedBytes, unpackedSetting: "CAIRN_CODE_ARCHIVE_MAX_UNPACKED_MB" };
}

function codeDir(): string {
  return path.join(env().dataDir, "code");
}

function dto(row: CodeArchiveRow, team: string): CodeArchiveDto {
  return {
    id: row.id, team, filename: row.filename, format: row.format, size_bytes: row.sizeBytes, sha256: row.sha256, files: row.files,
    default_command: row.defaultCommand ?? null, created_by: row.createdByEmail, created_at: row.createdAt.toISOString(),
  };
}

/** A name safe as a file name and an artifact path: the last path segment, with unusual characters replaced. */
export function cleanFilename(raw: string | undefined, format: "zip" | "tar.gz"): string {
  const base = (raw ?? "").split(/[\\/]/).pop() ?? "";
  const cleaned = base.replace(/[^A-Za-z0-9._+-]+/g, "_").replace(/^[._]+/, "").slice(-120);
  return cleaned || (format === "zip" ? "code.zip" : "code.tar.gz");
}

export function archiveTooLarge(): AppError {
  const limit = formatBytes(env().codeArchiveMaxBytes);
  return new AppError("invalid_input", `The archive is larger than the ${limit} limit (CAIRN_CODE_ARCHIVE_MAX_MB). Leave data sets and dependencies out of it, or ask an admin to raise the limit.`, { fields: { file: ["Too large"] } });
}

export type UploadInput = { team?: string; filename?: string; body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> };

/** Streams the body to a staging file (size limit, SHA-256) and returns its path; nothing is left on failure. */
async function stage(body: UploadInput["body"], maxBytes: number, tooLarge: () => AppError): Promise<{ file: string; size: number; sha256: string }> {
  const dir = path.join(codeDir(), ".tmp");
  await fsp.mkdir(dir, { recursive: true });
  const file = path.join(dir, `${randomUUID()}.part`);
  const hash = createHash("sha256");
  let size = 0;
  const handle = await fsp.open(file, "wx");
  try {
    const chunks = chunksOf(body);
    for await (const chunk of chunks) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge();
      hash.update(chunk);
      await handle.write(chunk);
    }
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fsp.rm(file, { force: true });
    throw err;
  }
  await handle.close();
  return { file, size, sha256: hash.digest("hex") };
}

/**
 * Checks the archive in full, then keeps it; members who may train (train_model) may upload. The archive
 * counts against the team's storage quota: room for it is reserved while it arrives, and a body that would
 * take the team over the quota is refused (quota_exceeded) with nothing kept.
 */
export async function uploadCodeArchive(ctx: Ctx, input: UploadInput): Promise<CodeArchiveDto> {
  const team = await homeTeam(ctx, input.team);
  if (!can(ctx.actor, "train_model", team.id)) {
    throw await denied(ctx, { action: "code_archive.upload", target: `team:${team.slug}`, teamId: team.id, team: team.slug, mode: "write", message: `Your role in team ${team.slug} does not allow uploading training code (it needs train_model).` });
  }
  return withStorageRoom(ctx.db, artifactStore(), team, env().codeArchiveMaxBytes, async ({ hold, over }) => {
    const staged = await stage(input.body, hold, over ?? archiveTooLarge);
    let kept: string | null = null;
    try {
      if (staged.size === 0) throw new AppError("invalid_input", "The archive is empty. Send the zip or .tar.gz file as the request body, or as the form field \"file\".", { fields: { file: ["Empty"] } });
      const inspection = await inspectArchive(staged.file, codeArchiveLimits());
      const id = randomUUID();
      const ext = inspection.format === "zip" ? "zip" : "tar.gz";
      const storagePath = path.posix.join("code", team.id, `${id}.${ext}`);
      kept = path.join(env().dataDir, storagePath);
      await fsp.mkdir(path.dirname(kept), { recursive: true });
      await fsp.rename(staged.file, kept);
      const row = await ctx.db.transaction(async (tx) => {
        const [created] = await tx
          .insert(codeArchives)
          .values({
            id, teamId: team.id, filename: cleanFilename(input.filename, inspection.format), format: inspection.format, sizeBytes: staged.size, sha256: staged.sha256,
            files: inspection.files, defaultCommand: inspection.defaultCommand, storagePath, createdBy: ctx.actor.userId, createdByEmail: ctx.actor.email,
          })
          .returning();
        await appendAudit(tx, ctx, {
          action: "code_archive.upload", target: `code_archive:${id}`, teamId: team.id, team: team.slug,
          details: { filename: created!.filename, format: created!.format, size_bytes: staged.size, sha256: staged.sha256, files: inspection.files, unpacked_bytes: inspection.unpackedBytes, unwrapped: inspection.root },
        });
        return created!;
      });
      kept = null;
      return dto(row, team.slug);
    } finally {
      await fsp.rm(staged.file, { force: true });
      if (kept) await fsp.rm(kept, { force: true });
    }
  });
}

export async function listCodeArchives(ctx: Ctx, input: { team?: string; limit?: number }): Promise<{ code_archives: CodeArchiveDto[] }> {
  const teamIds = input.team ? [(await homeTeam(ctx, input.team)).id] : readableTeamIds(ctx.actor);
  if (teamIds?.length === 0) return { code_archives: [] };
  const rows = await ctx.db
    .select({ archive: codeArchives, team: teams.slug })
    .from(codeArchives)
    .innerJoin(teams, eq(teams.id, codeArchives.teamId))
    .where(teamIds ? inArray(codeArchives.teamId, teamIds) : undefined)
    .orderBy(desc(codeArchives.createdAt), desc(codeArchives.id))
    .limit(input.limit ?? 200);
  return { code_archives: rows.map((r) => dto(r.archive, r.team)) };
}

/** One archive; another team's answers 404 (and is audited as a denied read). */
export async function getCodeArchive(ctx: Ctx, id: string): Promise<CodeArchiveDto> {
  const missing = `Code archive ${id} was not found.`;
  const [row] = isArchiveId(id)
    ? await ctx.db.select({ archive: codeArchives, team: teams.slug }).from(codeArchives).innerJoin(teams, eq(teams.id, codeArchives.teamId)).where(eq(codeArchives.id, id))
    : [];
  if (!row) throw new AppError("not_found", missing);
  if (!can(ctx.actor, "read_data", row.archive.teamId)) {
    throw await denied(ctx, { action: "code_archive.read", target: `code_archive:${id}`, teamId: row.archive.teamId, team: row.team, mode: "read", message: missing });
  }
  return dto(row.archive, row.team);
}

/** The team's archive with this id, or null (another team's archive is as unknown as a missing one). */
export async function teamCodeArchive(db: DbOrTx, teamId: string, id: string): Promise<CodeArchiveRow | null> {
  if (!isArchiveId(id)) return null;
  const [row] = await db.select().from(codeArchives).where(and(eq(codeArchives.id, id), eq(codeArchives.teamId, teamId)));
  return row ?? null;
}

export function codeArchiveFile(row: CodeArchiveRow): string {
  return path.join(env().dataDir, row.storagePath);
}

/** The archive's file, or not_found when it is missing from the data directory. */
async function archivePath(row: CodeArchiveRow): Promise<string> {
  const file = codeArchiveFile(row);
  try {
    await fsp.access(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new AppError("not_found", `The file of code archive ${row.id} (${row.filename}) is missing from the data directory.`);
    throw err;
  }
  return file;
}

/** Unpacks the archive (wrapping folder unwrapped) into `dir`, which must be empty or new; file by file, streaming. */
export async function extractCodeArchive(row: CodeArchiveRow, dir: string): Promise<number> {
  const base = path.resolve(dir);
  let files = 0;
  for await (const entry of archiveContent(await archivePath(row), codeArchiveLimits())) {
    const target = path.resolve(base, entry.path);
    // Paths were checked when read; this guards the guard.
    if (!target.startsWith(`${base}${path.sep}`)) throw new Error(`archive entry ${entry.path} resolves outside ${base}`);
    if (entry.type === "dir") {
      await fsp.mkdir(target, { recursive: true });
      continue;
    }
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await pipeline(entry.data, createWriteStream(target, { flags: "wx", mode: entry.executable ? 0o755 : 0o644 }));
    files++;
  }
  return files;
}

/** The archive's content as a .tar.gz stream (what the kubernetes executor's init container unpacks). */
export async function codeArchiveTarGz(row: CodeArchiveRow): Promise<{ filename: string; body: Readable }> {
  const body = tarGzStream(archiveContent(await archivePath(row), codeArchiveLimits()));
  return { filename: `${row.filename.replace(/\.(zip|tar\.gz|tgz)$/i, "")}.tar.gz`, body };
}

/** The archive file as uploaded, for the run's code snapshot; an archive deleted meanwhile answers conflict. */
export async function* codeArchiveStream(row: CodeArchiveRow): AsyncGenerator<Uint8Array> {
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(codeArchiveFile(row), "r");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw gone(row);
    throw err;
  }
  try {
    for await (const chunk of handle.createReadStream({ autoClose: false })) yield chunk as Buffer;
  } finally {
    await handle.close();
  }
}

function gone(row: CodeArchiveRow): AppError {
  return new AppError("conflict", `Code archive ${row.id} (${row.filename}) was deleted while the job was being submitted; upload it again.`);
}

/** Jobs that still need the archive: queued, admitted or running with it as their source. */
const UNFINISHED = ["queued", "admitted", "running"] as const;

/**
 * Deletes an archive and its file: its uploader (while they may still train in the team) or the team's
 * leads and admins. Refused (conflict) while an unfinished job has it as its source; another team's
 * archive answers not found. Jobs that ran it keep their run's code snapshot.
 */
export async function deleteCodeArchive(ctx: Ctx, id: string): Promise<void> {
  const missing = `Code archive ${id} was not found.`;
  const [found] = isArchiveId(id)
    ? await ctx.db.select({ archive: codeArchives, team: teams.slug }).from(codeArchives).innerJoin(teams, eq(teams.id, codeArchives.teamId)).where(eq(codeArchives.id, id.toLowerCase()))
    : [];
  if (!found) throw new AppError("not_found", missing);
  const { archive, team } = found;
  const event = { action: "code_archive.delete", target: `code_archive:${archive.id}`, teamId: archive.teamId, team };
  if (!can(ctx.actor, "read_data", archive.teamId)) throw await denied(ctx, { ...event, mode: "read", message: missing });
  const isUploader = archive.createdBy !== null && archive.createdBy === ctx.actor.userId && can(ctx.actor, "train_model", archive.teamId);
  if (!isUploader && !can(ctx.actor, "manage_team", archive.teamId)) {
    throw await denied(ctx, { ...event, mode: "write", message: `Only the archive's uploader (${archive.createdByEmail}) or a team lead of ${team} may delete code archive ${archive.filename} (${archive.id}).` });
  }
  await ctx.db.transaction(async (tx) => {
    // The row lock orders this against a submit naming the archive (it takes a share lock on the row).
    const [locked] = await tx.select({ id: codeArchives.id }).from(codeArchives).where(and(eq(codeArchives.id, archive.id), eq(codeArchives.teamId, archive.teamId))).for("update");
    if (!locked) throw new AppError("not_found", missing);
    const needing = await tx
      .select({ id: jobs.id, status: jobs.status })
      .from(jobs)
      .where(and(eq(jobs.teamId, archive.teamId), inArray(jobs.status, [...UNFINISHED]), sql`${jobs.spec}->>'source' = ${archive.id}`))
      .orderBy(jobs.queuedAt);
    if (needing.length > 0) {
      const listed = needing.slice(0, 5).map((j) => `${j.id} (${j.status})`).join(", ");
      const more = needing.length > 5 ? ` and ${needing.length - 5} more` : "";
      throw new AppError(
        "conflict",
        `Code archive ${archive.filename} (${archive.id}) is the code of ${needing.length} unfinished ${needing.length === 1 ? "job" : "jobs"}: ${listed}${more}. Cancel them or wait for them to finish, then delete it.`,
      );
    }
    await tx.delete(codeArchives).where(eq(codeArchives.id, archive.id));
    await appendAudit(tx, ctx, {
      ...event,
      details: { filename: archive.filename, format: archive.format, size_bytes: archive.sizeBytes, sha256: archive.sha256, uploaded_by: archive.createdByEmail },
    });
  });
  // After the commit: a failed removal leaves an orphan file (logged), never a row without its file.
  await fsp.rm(codeArchiveFile(archive), { force: true }).catch((err: unknown) => log.error(`removing the file of deleted code archive ${archive.id} failed`, { err }));
}
