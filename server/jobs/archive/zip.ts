// A zip reader (PKWARE APPNOTE 6.3): the central directory names the entries, each entry's local header
// locates its data, stored or deflated; zip64 sizes and offsets are understood. Every entry is read and
// its CRC-32 checked, so a file that is only partly a zip is refused rather than half unpacked.
import { inflateRawSync } from "node:zlib";
import { crc32 } from "./crc32";
import type { ArchiveLimits, RawEntry } from "./entries";
import { checkEntryCount, checkUnpacked, refuse, show } from "./entries";

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

function findEnd(buf: Buffer): number {
  // The end record is 22 bytes plus a comment of up to 65,535 bytes; its comment length must reach the end.
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - U16); i--) {
    if (buf.readUInt32LE(i) === EOCD && i + 22 + buf.readUInt16LE(i + 20) === buf.length) return i;
  }
  return broken("no end of central directory record");
}

type Directory = { count: number; offset: number; size: number };

function directory(buf: Buffer): Directory {
  const end = findEnd(buf);
  if (buf.readUInt16LE(end + 4) !== 0 || buf.readUInt16LE(end + 6) !== 0) refuse("it is a multi-part (spanned) zip. Create it as a single file.");
  let count = buf.readUInt16LE(end + 10);
  let size = buf.readUInt32LE(end + 12);
  let offset = buf.readUInt32LE(end + 16);
  if (count === U16 || size === U32 || offset === U32) {
    const locator = end - 20;
    if (locator < 0 || buf.readUInt32LE(locator) !== EOCD64_LOCATOR) broken("a zip64 archive without its zip64 end record");
    const at = Number(buf.readBigUInt64LE(locator + 8));
    if (at + 56 > buf.length || buf.readUInt32LE(at) !== EOCD64) broken("a damaged zip64 end record");
    count = Number(buf.readBigUInt64LE(at + 32));
    size = Number(buf.readBigUInt64LE(at + 40));
    offset = Number(buf.readBigUInt64LE(at + 48));
  }
  if (offset + size > buf.length) broken("the central directory lies outside the file");
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

function centralEntries(buf: Buffer, dir: Directory, limits: ArchiveLimits): Central[] {
  checkEntryCount(dir.count, limits);
  const out: Central[] = [];
  let p = dir.offset;
  for (let n = 0; n < dir.count; n++) {
    if (p + 46 > dir.offset + dir.size || buf.readUInt32LE(p) !== CENTRAL) broken("a damaged central directory");
    const nameLen = buf.readUInt16LE(p + 28);
    const extraLen = buf.readUInt16LE(p + 30);
    const commentLen = buf.readUInt16LE(p + 32);
    const end = p + 46 + nameLen + extraLen + commentLen;
    if (end > dir.offset + dir.size) broken("a damaged central directory");
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

function entryData(buf: Buffer, e: Central, directoryStart: number): Buffer {
  if (e.flags & 0x0001) refuse(`entry ${show(e.name)} is encrypted. Upload an archive without a password.`);
  if (e.offset + 30 > directoryStart || buf.readUInt32LE(e.offset) !== LOCAL) broken(`no local header for ${show(e.name)}`);
  const start = e.offset + 30 + buf.readUInt16LE(e.offset + 26) + buf.readUInt16LE(e.offset + 28);
  if (start + e.compressedSize > directoryStart) broken(`the data of ${show(e.name)} runs past its end`);
  const raw = buf.subarray(start, start + e.compressedSize);
  let data: Buffer;
  if (e.method === 0) {
    data = raw;
  } else if (e.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, e.size) });
    } catch {
      broken(`the compressed data of ${show(e.name)} is damaged or larger than it claims`);
    }
  } else {
    refuse(`entry ${show(e.name)} uses compression method ${e.method}; only stored and deflated entries are supported. Create the zip with \`zip -r\` or your system's "Compress" command.`);
  }
  if (data.length !== e.size) broken(`${show(e.name)} holds ${data.length} bytes but claims ${e.size}`);
  if (crc32(data) !== e.crc) broken(`the checksum of ${show(e.name)} does not match`);
  return data;
}

/** Every entry of a zip held in memory, checked (sizes, CRC, kinds) as it is read. */
export function* readZip(buf: Buffer, limits: ArchiveLimits): Generator<RawEntry> {
  const dir = directory(buf);
  const entries = centralEntries(buf, dir, limits);
  // Sizes are stated up front: refuse a zip bomb before inflating anything.
  checkUnpacked(entries.reduce((sum, e) => sum + e.size, 0), limits);
  for (const e of entries) {
    const { type, mode } = kind(e);
    if (type === "dir") {
      yield { name: e.name, type, mode, data: Buffer.alloc(0) };
      continue;
    }
    yield { name: e.name, type, mode, data: entryData(buf, e, dir.offset) };
  }
}
