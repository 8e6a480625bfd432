// A tar reader over the unpacked bytes of a .tar.gz, read as they stream out of gunzip: ustar, GNU and
// pax archives (long names through GNU "L" entries and pax "path" records). Links, devices and sparse
// files are refused; header checksums are verified and a truncated archive is an error. Files' bytes are
// handed on chunk by chunk as gunzip produces them, never held whole; every byte gunzip produces counts
// against the archive's limit.
import type { ArchiveLimits, RawEntry } from "./entries";
import { checkEntryCount, EntryData, refuse, show, tooLargeUnpacked, UnpackedCount } from "./entries";

const BLOCK = 512;
/** Extended headers (pax records, GNU long names) are small; anything bigger is not a code archive. */
const MAX_META_BYTES = 1024 * 1024;
/** Zero padding after the end-of-archive marker (tar pads to its record size, 10 KiB by default). */
const MAX_TRAILER_BYTES = 1024 * 1024;

/** Pulls exact byte counts out of a stream of chunks, counting every byte the stream produces. */
class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes taken from the stream so far (handed out or buffered). */
  pulled = 0;
  constructor(private readonly source: AsyncIterator<Buffer>, private readonly onPulled: (total: number) => void) {}

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const next = await this.source.next();
    if (next.done) {
      this.done = true;
      return false;
    }
    this.chunks.push(next.value);
    this.buffered += next.value.length;
    this.pulled += next.value.length;
    this.onPulled(this.pulled);
    return true;
  }

  /** Exactly n bytes (n is small: a header, a pax record), or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered < n && (await this.fill()));
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, Math.min(n, all.length));
    const rest = all.subarray(out.length);
    this.chunks = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  /** Stops the stream (gunzip and the file read behind it) when reading ends early. */
  async close(): Promise<void> {
    if (!this.done) await this.source.return?.();
    this.done = true;
  }

  /** The next chunk of at most n bytes, as it came from the stream; empty only at the end of the stream. */
  async chunk(n: number): Promise<Buffer> {
    if (this.buffered === 0 && !(await this.fill())) return Buffer.alloc(0);
    const first = this.chunks[0]!;
    const out = first.subarray(0, Math.min(n, first.length));
    if (out.length === first.length) this.chunks.shift();
    else this.chunks[0] = first.subarray(out.length);
    this.buffered -= out.length;
    return out;
  }
}

function cString(b: Buffer): string {
  const nul = b.indexOf(0);
  return b.subarray(0, nul === -1 ? b.length : nul).toString("utf8");
}

function numeric(field: Buffer, what: string): number {
  if (field[0]! & 0x80) {
    // GNU base-256: big-endian, the top bit of the first byte marks it (negative values are nonsense here).
    if (field[0]! & 0x40) refuse(`a header has a negative ${what}.`);
    let v = field[0]! & 0x3f;
    for (let i = 1; i < field.length; i++) v = v * 256 + field[i]!;
    if (!Number.isSafeInteger(v)) refuse(`a header has an impossible ${what}.`);
    return v;
  }
  const text = field.toString("latin1").replace(/\0.*$/s, "").trim();
  if (text === "") return 0;
  if (!/^[0-7]+$/.test(text)) notTar(`a header's ${what} is not a number`);
  return parseInt(text, 8);
}

function notTar(what: string): never {
  refuse(`it is not a readable .tar.gz (${what}). Create it with \`tar -czf code.tar.gz -C my-project .\`.`);
}

function checksumOk(h: Buffer): boolean {
  const field = h.subarray(148, 156).toString("latin1").replace(/\0.*$/s, "").trim();
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    const len = space === -1 ? NaN : Number(data.subarray(p, space).toString("latin1"));
    if (!Number.isInteger(len) || len <= 0 || p + len > data.length) notTar("a damaged pax header");
    const record = data.subarray(space + 1, p + len - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    p += len;
  }
  return out;
}

const truncated = () => notTar("it ends in the middle of a file; the upload may be incomplete");

/** Small bodies (extended headers), read whole, with their padding. */
async function smallBody(reader: ByteReader, size: number): Promise<Buffer> {
  const data = await reader.read(size);
  if (data.length < size) truncated();
  await skipPadding(reader, size);
  return data;
}

async function skipPadding(reader: ByteReader, size: number): Promise<void> {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad && (await reader.read(pad)).length < pad) truncated();
}

/** A file's bytes as they stream out of gunzip; its padding is skipped after its last byte. */
function fileBody(reader: ByteReader, size: number): EntryData {
  let left = size;
  let failure: unknown = null;
  return new EntryData(async () => {
    if (failure) throw failure;
    try {
      if (left === 0) {
        await skipPadding(reader, size);
        left = -1;
      }
      if (left < 0) return null;
      const chunk = await reader.chunk(left);
      if (chunk.length === 0) truncated();
      left -= chunk.length;
      return chunk;
    } catch (err) {
      failure = err;
      throw err;
    }
  });
}

/**
 * Every file and folder of the tar stream, checked as it is read. A file's stated size counts against the
 * limit before its bytes are read; the stream's own bytes (headers, padding, extended headers) count too,
 * so a stream of nothing but pax headers (a gzip bomb of another shape) is stopped as well.
 */
export async function* readTar(stream: AsyncIterable<Buffer>, limits: ArchiveLimits): AsyncGenerator<RawEntry> {
  const budget = limits.maxUnpackedBytes + (limits.maxEntries + 1) * 4 * BLOCK + 4 * MAX_META_BYTES;
  const reader = new ByteReader(stream[Symbol.asyncIterator](), (pulled) => {
    if (pulled > budget) tooLargeUnpacked(pulled, limits);
  });
  try {
    yield* tarEntries(reader, limits);
  } finally {
    await reader.close();
  }
}

async function* tarEntries(reader: ByteReader, limits: ArchiveLimits): AsyncGenerator<RawEntry> {
  const count = new UnpackedCount(limits);
  let entries = 0;
  let longName: string | null = null;
  let pax = new Map<string, string>();
  for (let first = true; ; first = false) {
    const h = await reader.read(BLOCK);
    if (h.length === 0) {
      if (first) notTar("the gzip file is empty");
      return; // no end marker: tolerated, as GNU tar does
    }
    if (h.length < BLOCK) notTar("it ends in the middle of a header; the upload may be incomplete");
    if (h.every((b) => b === 0)) {
      if (first) notTar("it holds no tar header");
      // End of archive. Whatever follows may only be zero padding.
      for (let seen = 0; ; ) {
        const rest = await reader.chunk(MAX_TRAILER_BYTES + 1 - seen);
        if (rest.length === 0) return;
        seen += rest.length;
        if (seen > MAX_TRAILER_BYTES || rest.some((b) => b !== 0)) notTar("there is data after the end of the archive");
      }
    }
    if (!checksumOk(h)) notTar(first ? "the gzip file does not hold a tar archive" : "a header's checksum does not match");
    const type = String.fromCharCode(h[156]!);
    const ustar = h.subarray(257, 263).toString("latin1") === "ustar\0";
    const headerName = (ustar && h[345] ? `${cString(h.subarray(345, 500))}/` : "") + cString(h.subarray(0, 100));
    const name = pax.get("path") ?? longName ?? headerName;
    const size = pax.has("size") ? Number(pax.get("size")) : numeric(h.subarray(124, 136), "size");
    if (!Number.isSafeInteger(size) || size < 0) notTar(`${show(name)} has an impossible size`);
    const mode = numeric(h.subarray(100, 108), "mode");

    if (type === "x" || type === "g" || type === "L" || type === "K") {
      if (size > MAX_META_BYTES) notTar("an extended header is too large");
      const data = await smallBody(reader, size);
      if (type === "x") pax = paxRecords(data);
      else if (type === "L") longName = cString(data);
      // "g" (global pax: git archive's commit id) and "K" (a link's long target) carry nothing we use.
      continue;
    }
    entries++;
    checkEntryCount(entries, limits);
    longName = null;
    pax = new Map();
    if (type === "1") refuse(`entry ${show(name)} is a hard link. Archive without links (e.g. \`tar --hard-dereference\`).`);
    if (type === "2") refuse(`entry ${show(name)} is a symbolic link. Archive the file it points to instead (\`tar -h\`).`);
    if (type === "3" || type === "4" || type === "6") refuse(`entry ${show(name)} is a device or pipe, not a file. Leave it out.`);
    if (type === "S") refuse(`entry ${show(name)} is a sparse file. Archive without --sparse.`);
    if (type === "5") {
      // A folder's stated size has no meaning; its bytes (if any) are skipped as they come.
      const skipped = fileBody(reader, size);
      yield { name, type: "dir", mode: mode & 0o7777, size: 0, data: EntryData.empty() };
      await skipped.finish();
      continue;
    }
    if (type !== "0" && type !== "\0" && type !== "7") refuse(`entry ${show(name)} has tar type "${type}", which is not a file or folder. Leave it out.`);
    count.add(size);
    const data = fileBody(reader, size);
    try {
      yield { name, type: "file", mode: mode & 0o7777, size, data };
      await data.finish();
    } finally {
      data.dispose();
    }
  }
}
