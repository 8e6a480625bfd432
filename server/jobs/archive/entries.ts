// What every archive reader yields, the limits they enforce, and the one check of an entry's path:
// archive names come from whoever built the file, and they become paths in a job's working directory.
import { AppError } from "../../errors";

export type ArchiveFormat = "zip" | "tar.gz";

export type ArchiveLimits = {
  /** Entries of any kind (files and folders). */
  maxEntries: number;
  /** The sum of the files' unpacked sizes. */
  maxUnpackedBytes: number;
};

export const MAX_ENTRIES = 10_000;

/** A file or folder as the archive states it; `path` is not checked yet (see entryPath). */
export type RawEntry = { name: string; type: "file" | "dir"; mode: number; data: Buffer };

/** A checked entry: `path` is relative, "/"-separated, without "." or ".." segments. */
export type ArchiveEntry = { path: string; type: "file" | "dir"; executable: boolean; data: Buffer };

const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;

/** Quoted and shortened, so a hostile name cannot flood a message or forge lines in a log. */
export function show(name: string): string {
  return JSON.stringify(name.length > 100 ? `${name.slice(0, 100)}…` : name);
}

export function refuse(problem: string): never {
  throw new AppError("invalid_input", `The archive was refused: ${problem}`, { fields: { file: [problem] } });
}

/**
 * The entry's path inside the archive, made relative and checked. Backslashes count as separators (zips
 * made on Windows use them), so "..\\..\\x" is the escape it looks like. Empty and "." segments are
 * dropped ("./train.py" is "train.py"); null for the archive's root folder itself.
 */
export function entryPath(name: string): string | null {
  if (name.includes("\0")) refuse(`entry ${show(name)} has a NUL character in its name. Rebuild the archive from plain file names.`);
  if (Buffer.byteLength(name, "utf8") > MAX_PATH_BYTES) refuse(`entry ${show(name)} has a path longer than ${MAX_PATH_BYTES} bytes.`);
  const slashed = name.replace(/\\/g, "/");
  if (slashed.startsWith("/")) refuse(`entry ${show(name)} has an absolute path. Archive the folder's contents with relative paths (e.g. \`tar -czf code.tar.gz -C my-project .\`).`);
  if (/^[A-Za-z]:/.test(slashed)) refuse(`entry ${show(name)} starts with a drive letter. Archive the folder's contents with relative paths.`);
  const segments = slashed.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) refuse(`entry ${show(name)} has a ".." segment, which would write outside the job's folder. Archive the folder's contents with relative paths.`);
  const long = segments.find((s) => Buffer.byteLength(s, "utf8") > MAX_SEGMENT_BYTES);
  if (long !== undefined) refuse(`entry ${show(name)} has a name longer than ${MAX_SEGMENT_BYTES} bytes.`);
  return segments.length ? segments.join("/") : null;
}

export function checkEntryCount(count: number, limits: ArchiveLimits): void {
  if (count > limits.maxEntries) refuse(`it has more than ${limits.maxEntries.toLocaleString("en-US")} entries. Leave out data sets, virtual environments and node_modules; jobs install dependencies themselves.`);
}

export function checkUnpacked(total: number, limits: ArchiveLimits): void {
  if (total > limits.maxUnpackedBytes) {
    refuse(`its files add up to more than ${formatBytes(limits.maxUnpackedBytes)} unpacked. Leave large data out of the code archive and read it from storage in the job.`);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / (1024 * 1024)).toFixed(1))} MB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KB`;
  return `${n} bytes`;
}
