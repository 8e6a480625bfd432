// What every archive reader yields, the limits they enforce, and the one check of an entry's path:
// archive names come from whoever built the file, and they become paths in a job's working directory.
import type { FileHandle } from "node:fs/promises";
import { Readable } from "node:stream";
import { AppError } from "../../errors";

export type ArchiveFormat = "zip" | "tar.gz";

export type ArchiveLimits = {
  /** Entries of any kind (files and folders). */
  maxEntries: number;
  /** The sum of the files' unpacked sizes, counted as they inflate. */
  maxUnpackedBytes: number;
  /** The setting that raises maxUnpackedBytes, named when an archive is refused for it. */
  unpackedSetting?: string;
};

export const MAX_ENTRIES = 10_000;

/**
 * An entry's bytes as they inflate, read at most once and before the next entry is asked for. What the
 * reader leaves unread is read (and checked: size, checksum) when the next entry is asked for, so an
 * archive is checked in full whether or not its files are kept.
 */
export class EntryData implements AsyncIterable<Buffer> {
  private started = false;
  private done = false;

  /** `pull` gives the next chunk, or null at the end (after checking it); `close` releases what it holds. */
  constructor(private readonly pull: () => Promise<Buffer | null>, private readonly close: () => void = () => undefined) {}

  static empty(): EntryData {
    return new EntryData(async () => null);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer> {
    if (this.started) throw new Error("an archive entry's data can be read only once");
    this.started = true;
    for (let chunk = await this.next(); chunk; chunk = await this.next()) yield chunk;
  }

  private async next(): Promise<Buffer | null> {
    if (this.done) return null;
    const chunk = await this.pull();
    if (chunk === null) this.done = true;
    return chunk;
  }

  /** Reads what is left (the reader stopped early or never started). */
  async finish(): Promise<void> {
    this.started = true;
    while (await this.next()) { /* counted and checked by pull */ }
  }

  /** Stops reading (the archive was refused or the reader gave up); nothing is checked any more. */
  dispose(): void {
    this.done = true;
    this.close();
  }
}

/**
 * The bytes of `file` from `start` up to (not including) `end`, a chunk at a time, as a stream. Read with
 * positioned reads on the one open handle: a FileHandle's own read stream closes the handle when it ends.
 */
export function fileRange(file: FileHandle, start: number, end: number, chunkSize = 64 * 1024): Readable {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let position = start; position < end; ) {
      const buf = Buffer.allocUnsafe(Math.min(chunkSize, end - position));
      const { bytesRead } = await file.read(buf, 0, buf.length, position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buf.subarray(0, bytesRead);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/** A file or folder as the archive states it; `path` is not checked yet (see entryPath). `size`: the file's stated size, which its data is checked against. */
export type RawEntry = { name: string; type: "file" | "dir"; mode: number; size: number; data: EntryData };

/** A checked entry: `path` is relative, "/"-separated, without "." or ".." segments. */
export type ArchiveEntry = { path: string; type: "file" | "dir"; executable: boolean; size: number; data: EntryData };

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

/** Refuses an archive that would unpack past the limit; `atLeast` is what it unpacks to as far as it was read or stated. */
export function tooLargeUnpacked(atLeast: number, limits: ArchiveLimits): never {
  const setting = limits.unpackedSetting ? `, ${limits.unpackedSetting}` : "";
  refuse(
    `it would unpack to at least ${formatBytes(atLeast)} (${atLeast.toLocaleString("en-US")} bytes), more than the limit of ${formatBytes(limits.maxUnpackedBytes)} unpacked${setting}. ` +
      "Leave large data out of the code archive and read it from storage in the job.",
  );
}

/** The running count of unpacked bytes of one archive, refused the moment it passes the limit. */
export class UnpackedCount {
  total = 0;
  constructor(private readonly limits: ArchiveLimits) {}

  /** Refuses before inflating anything when the sizes the archive states already pass the limit. */
  expect(bytes: number): void {
    if (this.total + bytes > this.limits.maxUnpackedBytes) tooLargeUnpacked(this.total + bytes, this.limits);
  }

  add(bytes: number): void {
    this.total += bytes;
    if (this.total > this.limits.maxUnpackedBytes) tooLargeUnpacked(this.total, this.limits);
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${Number((n / 1024 ** 3).toFixed(1))} GB`;
  if (n >= 1024 * 1024) return `${Number((n / (1024 * 1024)).toFixed(1))} MB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KB`;
  return `${n} bytes`;
}
