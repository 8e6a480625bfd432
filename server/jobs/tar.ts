// A minimal ustar writer (POSIX.1-1988, with pax "path" records for names ustar cannot hold): regular
// files and directories, gzipped. Enough for `tar xz` (GNU tar, busybox) to unpack a job's code
// snapshot; no dependency needed.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { pipeline, Readable } from "node:stream";
import { createGzip, gzipSync } from "node:zlib";

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** Splits a path into ustar's name (100 bytes) and prefix (155 bytes) fields; null when it does not fit. */
function splitName(name: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: "" };
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  return null;
}

function padding(size: number): Buffer[] {
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  return pad ? [Buffer.alloc(pad, 0)] : [];
}

/** A pax record "<length> path=<name>\n", whose length counts itself. */
function paxPath(name: string): Buffer {
  const body = ` path=${name}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let digits = String(bodyBytes).length;
  while (String(bodyBytes + digits).length !== digits) digits++;
  const record = Buffer.from(`${bodyBytes + digits}${body}`);
  return Buffer.concat([header({ name: "PaxHeader", size: record.length, mode: 0o644, mtime: 0, type: "x" }), record, ...padding(record.length)]);
}

type HeaderFields = { name: string; size: number; mode: number; mtime: number; type: "0" | "5" | "x" };

/** The header blocks of one entry: a ustar header, preceded by a pax header when the name needs one. */
function headers(entry: HeaderFields): Buffer[] {
  if (splitName(entry.name)) return [header(entry)];
  // The ustar name is only a fallback for readers without pax support.
  const short = entry.name.replace(/\/$/, "").split("/").pop()!.slice(-90);
  return [paxPath(entry.name), header({ ...entry, name: short })];
}

function header(entry: HeaderFields): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const { name, prefix } = splitName(entry.name) ?? { name: entry.name.slice(0, 100), prefix: "" };
  h.write(name, 0, 100, "utf8");
  h.write(octal(entry.mode, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(entry.size, 12), 124, "ascii");
  h.write(octal(Math.floor(entry.mtime), 12), 136, "ascii");
  h.write("        ", 148, "ascii"); // checksum placeholder: eight spaces
  h.write(entry.type, 156, "ascii");
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  h.write(prefix, 345, 155, "utf8");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** The folder's files and subfolders (symlinks and special files are left out), as a .tar.gz. */
export function tarGzDirectory(root: string): Buffer {
  const parts: Buffer[] = [];
  const walk = (dir: string, rel: string) => {
    for (const entry of readdirSync(dir).sort()) {
      const abs = path.join(dir, entry);
      const name = rel ? `${rel}/${entry}` : entry;
      const st = lstatSync(abs);
      if (st.isDirectory()) {
        parts.push(...headers({ name: `${name}/`, size: 0, mode: 0o755, mtime: st.mtimeMs / 1000, type: "5" }));
        walk(abs, name);
      } else if (st.isFile()) {
        const data = readFileSync(abs);
        parts.push(...headers({ name, size: data.length, mode: st.mode & 0o111 ? 0o755 : 0o644, mtime: st.mtimeMs / 1000, type: "0" }), data, ...padding(data.length));
      }
    }
  };
  walk(root, "");
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return gzipSync(Buffer.concat(parts));
}

export type TarEntry = { path: string; type: "file" | "dir"; executable: boolean; size: number; data: AsyncIterable<Buffer> };

async function* tarBlocks(entries: AsyncIterable<TarEntry>, mtime: number): AsyncGenerator<Buffer> {
  for await (const e of entries) {
    if (e.type === "dir") {
      yield* headers({ name: `${e.path}/`, size: 0, mode: 0o755, mtime, type: "5" });
      continue;
    }
    yield* headers({ name: e.path, size: e.size, mode: e.executable ? 0o755 : 0o644, mtime, type: "0" });
    let written = 0;
    for await (const chunk of e.data) {
      written += chunk.length;
      if (written > e.size) break;
      yield chunk;
    }
    // The header promised e.size bytes; anything else would shift every later header.
    if (written !== e.size) throw new Error(`archive entry ${e.path} holds ${written} bytes, not the ${e.size} its header states`);
    yield* padding(e.size);
  }
  yield Buffer.alloc(BLOCK * 2, 0);
}

/**
 * Entries (already checked paths, each with its size) as a .tar.gz stream, compressed as they come: nothing
 * is held whole. An error while reading an entry ends the stream with that error.
 */
export function tarGzStream(entries: AsyncIterable<TarEntry>, mtime = Date.now() / 1000): Readable {
  return pipeline(Readable.from(tarBlocks(entries, mtime), { objectMode: false }), createGzip(), () => undefined);
}
