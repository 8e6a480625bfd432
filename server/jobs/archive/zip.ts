// A zip reader (PKWARE APPNOTE 6.3): the central directory names the entries, each entry's local header
// locates its data, stored or deflated; zip64 sizes and offsets are understood. Read from the file, never
// whole: each entry inflates through zlib's stream (on libuv's pool, off the event loop) with a running count
// of its bytes against its stated size and the archive's limit, and its CRC-32 checked at its end, so a file
// that is only partly a zip (or a bomb that lies about its sizes) is refused rather than half unpacked.
import type { FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { createInflateRaw } from "node:zlib";
import { crc32 } from "./crc32";
import type { ArchiveLimits, RawEntry } from "./entries";
import { checkEntryCount, EntryData, fileRange, refuse, show, UnpackedCount } from "./entries";

const EOCD = 0x06054b50;
const EOCD64 = 0x06064b50;
const EOCD64_LOCATOR = 0x07064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const U16 = 0xffff;
const U32 = 0xffffffff;

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function decodeName(bytes: Buffer): string {
  // Flag bit 11 promises UTF-8; many tools write UTF-8 without it, the rest write code page 437.
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes.toString("latin1");
  }
}

function broken(what: string): never {
  refuse(`it is not a readable zip file (${what}). Create it again with \`zip -r code.zip .\` or your system's "Compress" command.`);
}

/** Exactly `length` bytes at `position`, or a refusal: the zip points past its own end. */
async function readAt(file: FileHandle, position: number, length: number, what: string): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await file.read(buf, got, length - got, position + got);
    if (bytesRead === 0) broken(what);
    got += bytesRead;
  }
  return buf;
}

type Directory = { count: number; offset: number; size: number };

async function directory(file: FileHandle, fileSize: number): Promise<Directory> {
  // The end record is 22 bytes plus a comment of up to 65,535 bytes; its comment length must reach the end.
  if (fileSize < 22) broken("no end of central directory record");
  const tailStart = Math.max(0, fileSize - 22 - U16);
  const tail = await readAt(file, tailStart, fileSize - tailStart, "no end of central directory record");
  let end = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD && i + 22 + tail.readUInt16LE(i + 20) === tail.length) {
      end = i;
      break;
    }
  }
  if (end < 0) broken("no end of central directory record");
  if (tail.readUInt16LE(end + 4) !== 0 || tail.readUInt16LE(end + 6) !== 0) refuse("it is a multi-part (spanned) zip. Create it as a single file.");
  let count = tail.readUInt16LE(end + 10);
  let size = tail.readUInt32LE(end + 12);
  let offset = tail.readUInt32LE(end + 16);
  if (count === U16 || size === U32 || offset === U32) {
    const locatorAt = tailStart + end - 20;
    if (locatorAt < 0) broken("a zip64 archive without its zip64 end record");
    const locator = await readAt(file, locatorAt, 20, "a zip64 archive without its zip64 end record");
    if (locator.readUInt32LE(0) !== EOCD64_LOCATOR) broken("a zip64 archive without its zip64 end record");
    const at = Number(locator.readBigUInt64LE(8));
    if (at + 56 > fileSize) broken("a damaged zip64 end record");
    const record = await readAt(file, at, 56, "a damaged zip64 end record");
    if (record.readUInt32LE(0) !== EOCD64) broken("a damaged zip64 end record");
    count = Number(record.readBigUInt64LE(32));
    size = Number(record.readBigUInt64LE(40));
    offset = Number(record.readBigUInt64LE(48));
  }
  if (offset + size > fileSize) broken("the central directory lies outside the file");
  return { count, offset, size };
}

type Central = {
  name: string; flags: number; method: number; crc: number; compressedSize: number; size: number;
  offset: number; madeBy: number; externalAttrs: number;
};

function zip64Fields(extra: Buffer, entry: Central): void {
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const len = extra.readUInt16LE(i + 2);
    if (id === 0x0001) {
      let p = i + 4;
      const next = (): number => {
        if (p + 8 > i + 4 + len) broken(`a short zip64 field for ${show(entry.name)}`);
        const v = Number(extra.readBigUInt64LE(p));
        p += 8;
        return v;
      };
      if (entry.size === U32) entry.size = next();
      if (entry.compressedSize === U32) entry.compressedSize = next();
      if (entry.offset === U32) entry.offset = next();
      return;
    }
    i += 4 + len;
  }
}

/** The central directory's records (the directory itself is metadata, no larger than the uploaded file). */
async function centralEntries(file: FileHandle, dir: Directory, limits: ArchiveLimits): Promise<Central[]> {
  checkEntryCount(dir.count, limits);
  const buf = await readAt(file, dir.offset, dir.size, "the central directory lies outside the file");
  const out: Central[] = [];
  let p = 0;
  for (let n = 0; n < dir.count; n++) {
    if (p + 46 > buf.length || buf.readUInt32LE(p) !== CENTRAL) broken("a damaged central directory");
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > buf.length) broken("a damaged central directory");
    const entry: Central = {
      name: decodeName(buf.subarray(p + 46, p + 46 + nameLen)),
      madeBy: buf.readUInt16LE(p + 4),
      flags: buf.readUInt16LE(p + 8),
      method: buf.readUInt16LE(p + 10),
      crc: buf.readUInt32LE(p + 16),
      compressedSize: buf.readUInt32LE(p + 20),
      size: buf.readUInt32LE(p + 24),
      externalAttrs: buf.readUInt32LE(p + 38),
      offset: buf.readUInt32LE(p + 42),
    };
    zip64Fields(buf.subarray(p + 46 + nameLen, p + 46 + nameLen + extraLen), entry);
    out.push(entry);
    p = end;
  }
  return out;
}

/** File, folder, or something a job's folder must not hold (a link or a device). */
function kind(e: Central): { type: "file" | "dir"; mode: number } {
  const host = e.madeBy >> 8;
  // Unix (3) and macOS (19) keep st_mode in the high half of the external attributes.
  const mode = host === 3 || host === 19 ? e.externalAttrs >>> 16 : 0;
  const fmt = mode & S_IFMT;
  if (fmt === S_IFLNK) refuse(`entry ${show(e.name)} is a symbolic link. Archive the file it points to instead (\`zip -r\` without \`--symlinks\`).`);
  if (fmt !== 0 && fmt !== S_IFDIR && fmt !== S_IFREG) refuse(`entry ${show(e.name)} is a device, pipe or socket, not a file. Leave it out.`);
  const isDir = fmt === S_IFDIR || e.name.endsWith("/") || e.name.endsWith("\\") || (host === 0 && (e.externalAttrs & 0x10) !== 0);
  return { type: isDir ? "dir" : "file", mode: mode & 0o7777 };
}

const CHUNK = 64 * 1024;

/** Where the entry's compressed bytes lie in the file, from its local header. */
async function dataStart(file: FileHandle, e: Central, directoryStart: number): Promise<number> {
  if (e.flags & 0x0001) refuse(`entry ${show(e.name)} is encrypted. Upload an archive without a password.`);
  if (e.method !== 0 && e.method !== 8) {
    refuse(`entry ${show(e.name)} uses compression method ${e.method}; only stored and deflated entries are supported. Create the zip with \`zip -r\` or your system's "Compress" command.`);
  }
  if (e.offset + 30 > directoryStart) broken(`no local header for ${show(e.name)}`);
  const local = await readAt(file, e.offset, 30, `no local header for ${show(e.name)}`);
  if (local.readUInt32LE(0) !== LOCAL) broken(`no local header for ${show(e.name)}`);
  const start = e.offset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
  if (start + e.compressedSize > directoryStart) broken(`the data of ${show(e.name)} runs past its end`);
  if (e.method === 0 && e.compressedSize !== e.size) broken(`${show(e.name)} holds ${e.compressedSize} bytes but claims ${e.size}`);
  return start;
}

/**
 * The entry's bytes as they come out of the file (stored) or out of zlib's inflate stream (deflated),
 * counted: past its stated size or the archive's limit it stops there, and at its end its size and CRC-32
 * must match what the directory states.
 */
function entryData(file: FileHandle, e: Central, start: number, count: UnpackedCount): EntryData {
  let stream: Readable | null = null;
  let chunks: AsyncIterator<Buffer> | null = null;
  let got = 0;
  let crc = 0;
  const open = (): AsyncIterator<Buffer> => {
    const source = fileRange(file, start, start + e.compressedSize, CHUNK);
    if (e.method === 0) stream = source;
    else stream = pipeline(source, createInflateRaw({ chunkSize: CHUNK }), () => undefined);
    return stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  };
  const close = () => {
    stream?.destroy();
    stream = null;
  };
  const damaged = () => broken(`the compressed data of ${show(e.name)} is damaged`);
  let failure: unknown = null;
  const pull = async (): Promise<Buffer | null> => {
    if (e.compressedSize === 0) {
      // Deflate writes at least two bytes, even for nothing.
      if (e.method === 8) damaged();
      chunks = null;
    } else chunks ??= open();
    let next: IteratorResult<Buffer>;
    try {
      next = chunks ? await chunks.next() : { done: true, value: undefined };
    } catch (err) {
      if (err instanceof Error && "code" in err && String(err.code).startsWith("Z_")) damaged();
      throw err;
    }
    if (next.done) {
      close();
      if (got !== e.size) broken(`${show(e.name)} holds ${got} bytes but claims ${e.size}`);
      if (crc !== e.crc) broken(`the checksum of ${show(e.name)} does not match`);
      return null;
    }
    const chunk = next.value;
    got += chunk.length;
    if (got > e.size) broken(`${show(e.name)} unpacks to more than the ${e.size.toLocaleString("en-US")} bytes it claims (a zip bomb, or damaged)`);
    count.add(chunk.length);
    crc = crc32(chunk, crc);
    return chunk;
  };
  return new EntryData(async () => {
    if (failure) throw failure;
    try {
      return await pull();
    } catch (err) {
      failure = err;
      close();
      throw err;
    }
  }, close);
}

/**
 * Every entry of the zip file, checked (sizes, CRC, kinds) as it is read. The sizes the directory states
 * are summed first, so a zip that says it is a bomb is refused before anything inflates.
 */
export async function* readZip(file: FileHandle, fileSize: number, limits: ArchiveLimits): AsyncGenerator<RawEntry> {
  const dir = await directory(file, fileSize);
  const entries = await centralEntries(file, dir, limits);
  const count = new UnpackedCount(limits);
  count.expect(entries.reduce((sum, e) => sum + e.size, 0));
  for (const e of entries) {
    const { type, mode } = kind(e);
    if (type === "dir") {
      yield { name: e.name, type, mode, size: 0, data: EntryData.empty() };
      continue;
    }
    const data = entryData(file, e, await dataStart(file, e, dir.offset), count);
    try {
      yield { name: e.name, type, mode, size: e.size, data };
      await data.finish();
    } finally {
      data.dispose();
    }
  }
}
