// Uploaded code archives (POST /api/v1/code-archives): a team's training code as a zip or .tar.gz,
// read in full and checked before anything is kept, stored as uploaded under
// <data dir>/code/<team id>/<id>.<ext> and never changed afterwards. Jobs name one as their source:
// dispatch unpacks it into the attempt's folder, GET /api/v1/jobs/{id}/code serves it as a .tar.gz.
import { createHash, randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { and, desc, eq, inArray } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { DbOrTx } from "@/db/client";
import { codeArchives, teams } from "@/db/schema";
import { chunksOf } from "../artifacts/fs-store";
import { appendAudit, denied } from "../audit/record";
import { can, readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { env } from "../env";
import { AppError } from "../errors";
import { homeTeam } from "../tracking/access";
import { formatBytes, MAX_ENTRIES } from "./archive/entries";
import type { ArchiveLimits } from "./archive/entries";
import { archiveContent, inspectArchive } from "./archive/read";
import { tarGzEntries } from "./tar";

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

/** Unpacked, an archive may hold ten times its size limit (source compresses well; a zip bomb does not fit). */
export function codeArchiveLimits(): ArchiveLimits {
  return { maxEntries: MAX_ENTRIES, maxUnpackedBytes: 10 * env().codeArchiveMaxBytes };
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
async function stage(body: UploadInput["body"], maxBytes: number): Promise<{ file: string; size: number; sha256: string }> {
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
      if (size > maxBytes) throw archiveTooLarge();
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

/** Checks the archive in full, then keeps it; members who may train (train_model) may upload. */
export async function uploadCodeArchive(ctx: Ctx, input: UploadInput): Promise<CodeArchiveDto> {
  const team = await homeTeam(ctx, input.team);
  if (!can(ctx.actor, "train_model", team.id)) {
    throw await denied(ctx, { action: "code_archive.upload", target: `team:${team.slug}`, teamId: team.id, team: team.slug, mode: "write", message: `Your role in team ${team.slug} does not allow uploading training code (it needs train_model).` });
  }
  const staged = await stage(input.body, env().codeArchiveMaxBytes);
  let kept: string | null = null;
  try {
    if (staged.size === 0) throw new AppError("invalid_input", "The archive is empty. Send the zip or .tar.gz file as the request body, or as the form field \"file\".", { fields: { file: ["Empty"] } });
    const inspection = await inspectArchive(await fsp.readFile(staged.file), codeArchiveLimits());
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
        details: { filename: created!.filename, format: created!.format, size_bytes: staged.size, sha256: staged.sha256, files: inspection.files, unwrapped: inspection.root },
      });
      return created!;
    });
    kept = null;
    return dto(row, team.slug);
  } finally {
    await fsp.rm(staged.file, { force: true });
    if (kept) await fsp.rm(kept, { force: true });
  }
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

async function archiveBytes(row: CodeArchiveRow): Promise<Buffer> {
  try {
    return await fsp.readFile(codeArchiveFile(row));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new AppError("not_found", `The file of code archive ${row.id} (${row.filename}) is missing from the data directory.`);
    throw err;
  }
}

/** Unpacks the archive (wrapping folder unwrapped) into `dir`, which must be empty or new. */
export async function extractCodeArchive(row: CodeArchiveRow, dir: string): Promise<number> {
  const base = path.resolve(dir);
  let files = 0;
  for await (const entry of archiveContent(await archiveBytes(row), codeArchiveLimits())) {
    const target = path.resolve(base, entry.path);
    // Paths were checked when read; this guards the guard.
    if (!target.startsWith(`${base}${path.sep}`)) throw new Error(`archive entry ${entry.path} resolves outside ${base}`);
    if (entry.type === "dir") {
      await fsp.mkdir(target, { recursive: true });
      continue;
    }
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.writeFile(target, entry.data, { flag: "wx", mode: entry.executable ? 0o755 : 0o644 });
    files++;
  }
  return files;
}

/** The archive's content as a .tar.gz (what the kubernetes executor's init container unpacks). */
export async function codeArchiveTarGz(row: CodeArchiveRow): Promise<{ filename: string; body: Buffer }> {
  const body = await tarGzEntries(archiveContent(await archiveBytes(row), codeArchiveLimits()));
  return { filename: `${row.filename.replace(/\.(zip|tar\.gz|tgz)$/i, "")}.tar.gz`, body };
}

/** The archive file as uploaded, for the run's code snapshot. */
export function codeArchiveStream(row: CodeArchiveRow): AsyncIterable<Uint8Array> {
  return createReadStream(codeArchiveFile(row));
}
