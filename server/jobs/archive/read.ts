// Code archives as Cairn reads them: the format by its magic bytes, every entry checked (path, kind,
// duplicates), a single wrapping folder unwrapped, and the default command of a root cairn.json.
//
// Unwrapping: when every entry sits under one top-level folder (GitHub's "Download ZIP", `git archive
// --prefix=name/`, zipping a folder rather than its contents), that folder is the root — its contents
// land in the job's working directory. Only that one level is unwrapped. macOS Finder's "__MACOSX/"
// resource-fork folder is left out.
import type { FileHandle } from "node:fs/promises";
import fsp from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import type { ArchiveEntry, ArchiveFormat, ArchiveLimits, RawEntry } from "./entries";
import { entryPath, fileRange, refuse, show } from "./entries";
import { readTar } from "./tar";
import { readZip } from "./zip";

export type { ArchiveEntry, ArchiveFormat, ArchiveLimits } from "./entries";

const MANIFEST = "cairn.json";
const MAX_MANIFEST_BYTES = 64 * 1024;
const CHUNK = 64 * 1024;

export function detectFormat(head: Buffer): ArchiveFormat | null {
  // "PK\3\4": a zip's first local header; "PK\5\6": the end record of an empty zip (refused later as empty).
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) return "zip";
  if (head.length >= 3 && head[0] === 0x1f && head[1] === 0x8b && head[2] === 8) return "tar.gz";
  return null;
}

/** The file's bytes through zlib's gunzip stream (inflating on libuv's pool, off the event loop). */
async function* gunzipped(file: FileHandle, size: number): AsyncGenerator<Buffer> {
  const gunzip: Readable = pipeline(fileRange(file, 0, size, CHUNK), createGunzip({ chunkSize: CHUNK }), () => undefined);
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof Error && "code" in err && String(err.code).startsWith("Z_")) {
      refuse(`it is not a readable gzip file (${err.message}). Create it with \`tar -czf code.tar.gz -C my-project .\`.`);
    }
    throw err;
  } finally {
    gunzip.destroy();
  }
}

/** The archive file's entries as it states them; the file is open while they are read. */
async function* rawEntries(file: string, limits: ArchiveLimits): AsyncGenerator<RawEntry> {
  const handle = await fsp.open(file, "r");
  try {
    const { size } = await handle.stat();
    const head = Buffer.alloc(Math.min(4, size));
    await handle.read(head, 0, head.length, 0);
    const format = detectFormat(head);
    if (format === "zip") yield* readZip(handle, size, limits);
    else if (format === "tar.gz") yield* readTar(gunzipped(handle, size), limits);
    else refuse("it is neither a zip file nor a gzip-compressed tar (.tar.gz / .tgz). Upload one of those.");
  } finally {
    await handle.close();
  }
}

/** The archive's files and folders with checked paths, as stored (no unwrapping). */
export async function* checkedEntries(file: string, limits: ArchiveLimits): AsyncGenerator<ArchiveEntry> {
  const files = new Set<string>();
  const dirs = new Set<string>();
  for await (const raw of rawEntries(file, limits)) {
    const path = entryPath(raw.name);
    if (path === null || path === "__MACOSX" || path.startsWith("__MACOSX/")) continue;
    const segments = path.split("/");
    for (let i = 1; i < segments.length; i++) {
      const ancestor = segments.slice(0, i).join("/");
      if (files.has(ancestor)) refuse(`${show(ancestor)} is both a file and a folder.`);
      dirs.add(ancestor);
    }
    if (raw.type === "file") {
      if (files.has(path)) refuse(`${show(path)} appears twice. Each file may appear once.`);
      if (dirs.has(path)) refuse(`${show(path)} is both a file and a folder.`);
      files.add(path);
    } else {
      if (files.has(path)) refuse(`${show(path)} is both a file and a folder.`);
      dirs.add(path);
    }
    yield { path, type: raw.type, executable: (raw.mode & 0o111) !== 0, size: raw.size, data: raw.data };
  }
}

export type Inspection = {
  format: ArchiveFormat;
  /** Regular files, after unwrapping. */
  files: number;
  unpackedBytes: number;
  /** The single wrapping folder that is unwrapped, or null. */
  root: string | null;
  defaultCommand: string[] | null;
};

/** The first `max + 1` bytes of an entry at most (enough to tell it is too large); the rest is left to the reader. */
async function head(data: AsyncIterable<Buffer>, max: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of data) {
    parts.push(chunk);
    size += chunk.length;
    if (size > max) break;
  }
  return Buffer.concat(parts).subarray(0, max + 1);
}

/** The format by the file's first bytes (null: neither). */
export async function formatOf(file: string): Promise<ArchiveFormat | null> {
  const handle = await fsp.open(file, "r");
  try {
    const head = Buffer.alloc(4);
    const { bytesRead } = await handle.read(head, 0, 4, 0);
    return detectFormat(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Reads the whole archive (streaming) and refuses anything a job's working directory should not receive. */
export async function inspectArchive(file: string, limits: ArchiveLimits): Promise<Inspection> {
  const format = await formatOf(file);
  let files = 0;
  let unpackedBytes = 0;
  const tops = new Map<string, "file" | "dir">();
  const manifests = new Map<string, Buffer>();
  for await (const e of checkedEntries(file, limits)) {
    const [top, ...rest] = e.path.split("/");
    tops.set(top!, rest.length || e.type === "dir" ? "dir" : "file");
    if (e.type !== "file") continue;
    files++;
    unpackedBytes += e.size;
    if (e.path.split("/").pop() === MANIFEST && rest.length <= 1) manifests.set(e.path, await head(e.data, MAX_MANIFEST_BYTES));
  }
  if (!format || files === 0) refuse("it holds no files. Archive the folder with your training code.");
  const [only] = tops.entries();
  const root = tops.size === 1 && only![1] === "dir" ? only![0] : null;
  const manifest = manifests.get(root ? `${root}/${MANIFEST}` : MANIFEST);
  return { format, files, unpackedBytes, root, defaultCommand: manifest ? manifestCommand(manifest) : null };
}

/** The command of a cairn.json (same shape as examples/churn/cairn.json); a broken manifest is refused. */
function manifestCommand(data: Buffer): string[] | null {
  if (data.length > MAX_MANIFEST_BYTES) refuse(`${MANIFEST} is larger than 64 KB; it only needs a name, a description and a command.`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString("utf8"));
  } catch (err) {
    refuse(`${MANIFEST} is not valid JSON (${err instanceof Error ? err.message : String(err)}). Fix it, or leave it out and give the command when launching.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) refuse(`${MANIFEST} must be a JSON object such as {"command": ["python", "train.py"]}.`);
  const command = (parsed as { command?: unknown }).command;
  if (command === undefined) return null;
  if (!Array.isArray(command) || command.length === 0 || command.length > 100 || !command.every((c) => typeof c === "string" && c.length > 0 && c.length <= 4096)) {
    refuse(`the "command" of ${MANIFEST} must be a list of 1 to 100 non-empty strings, such as ["python", "train.py"].`);
  }
  return command as string[];
}

/**
 * The archive's content as a job sees it: checked, with the wrapping folder (if any) unwrapped. Two
 * streaming passes: the first checks it all and finds the wrapping folder, the second hands out the entries;
 * read each entry's data before asking for the next.
 */
export async function* archiveContent(file: string, limits: ArchiveLimits): AsyncGenerator<ArchiveEntry> {
  const { root } = await inspectArchive(file, limits);
  for await (const e of checkedEntries(file, limits)) {
    if (root === null) yield e;
    else if (e.path !== root) yield { ...e, path: e.path.slice(root.length + 1) };
  }
}
