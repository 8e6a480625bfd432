// Test helpers: zips and tars built byte by byte, so tests can make the malicious ones real tools refuse to.
import { Readable } from "node:stream";
import { createDeflateRaw, createGzip, deflateRawSync, gzipSync } from "node:zlib";
import { crc32 } from "../archive/crc32";

/** `size` zero bytes, a mebibyte at a time (nothing that large is ever held). */
function* zeroChunks(size: number): Generator<Buffer> {
  const chunk = Buffer.alloc(Math.min(size, 2 ** 20));
  for (let left = size; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
}

async function compressed(stream: NodeJS.ReadWriteStream, source: Iterable<Buffer> | AsyncIterable<Buffer>): Promise<Buffer> {
  const out = Readable.from(source).pipe(stream);
  const parts: Buffer[] = [];
  for await (const chunk of out) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** Already-deflated entry data: a bomb's payload, built as a stream. */
export type Deflated = { deflated: Buffer; size: number; crc: number };

/** `size` zeros as raw deflate (about 1000:1: a GiB is about a MiB) and their CRC-32. */
export async function deflatedZeros(size: number): Promise<Deflated> {
  let crc = 0;
  for (const chunk of zeroChunks(size)) crc = crc32(chunk, crc);
  return { deflated: await compressed(createDeflateRaw(), zeroChunks(size)), size, crc };
}

export type ZipSpec = {
  name: string;
  data?: string | Buffer;
  /** Unix st_mode (file type and permissions); default a regular 0644 file, or a 0755 folder for names ending in "/". */
  mode?: number;
  method?: 0 | 8;
  flags?: number;
  /** Claim this uncompressed size instead of the real one. */
  claimedSize?: number;
  /** Claim this CRC instead of the real one. */
  claimedCrc?: number;
  /** Data already deflated (instead of `data`). */
  deflated?: Deflated;
};

const bytes = (d: string | Buffer | undefined) => (typeof d === "string" ? Buffer.from(d) : (d ?? Buffer.alloc(0)));

export function zipOf(entries: ZipSpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const data = bytes(e.data);
    const method = e.deflated ? 8 : (e.method ?? 8);
    const stored = e.deflated?.deflated ?? (method === 8 ? deflateRawSync(data) : data);
    const name = Buffer.from(e.name);
    const crc = e.claimedCrc ?? e.deflated?.crc ?? crc32(data);
    const size = e.claimedSize ?? e.deflated?.size ?? data.length;
    const mode = e.mode ?? (e.name.endsWith("/") ? 0o040755 : 0o100644);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE((e.flags ?? 0) | 0x0800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(stored.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    locals.push(local, name, stored);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE((e.flags ?? 0) | 0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(stored.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += 30 + name.length + stored.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

export type TarSpec = {
  name: string;
  data?: string | Buffer;
  /** "0" file, "1" hard link, "2" symlink, "3"/"4" devices, "5" folder, "6" FIFO, "L" GNU long name, "x" pax. */
  type?: string;
  mode?: number;
  linkname?: string;
};

function tarHeader(e: TarSpec, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, "utf8");
  h.write(`${(e.mode ?? 0o644).toString(8).padStart(7, "0")}\0`, 100);
  h.write("0000000\0", 108);
  h.write("0000000\0", 116);
  h.write(`${size.toString(8).padStart(11, "0")}\0`, 124);
  h.write("00000000000\0", 136);
  h.write("        ", 148);
  h.write(e.type ?? "0", 156);
  if (e.linkname) h.write(e.linkname, 157, 100);
  h.write("ustar\0", 257);
  h.write("00", 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148);
  return h;
}

export function tarOf(entries: TarSpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = bytes(e.data);
    parts.push(tarHeader(e, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const tarGzOf = (entries: TarSpec[]) => gzipSync(tarOf(entries));

/**
 * A .tar.gz of files given as data or as a count of zeros, built as a stream (a bomb's worth of zeros is never
 * held). `statedSize`: the header states this size whatever follows (a bomb that is refused at its header).
 */
export async function largeTarGzOf(entries: { name: string; data?: string | Buffer; zeros?: number; statedSize?: number }[]): Promise<Buffer> {
  function* blocks(): Generator<Buffer> {
    for (const e of entries) {
      const data = bytes(e.data);
      const size = e.zeros ?? data.length;
      yield tarHeader({ name: e.name }, e.statedSize ?? size);
      if (e.zeros !== undefined) yield* zeroChunks(e.zeros);
      else yield data;
      yield Buffer.alloc((512 - (size % 512)) % 512);
    }
    yield Buffer.alloc(1024);
  }
  return compressed(createGzip(), blocks());
}
