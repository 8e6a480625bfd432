// A minimal ustar writer (POSIX.1-1988): regular files and directories of one folder, gzipped. Enough
// for `tar xz` (GNU tar, busybox) to unpack a job's code snapshot; no dependency needed.
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";

const BLOCK = 512;

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

/** Splits a path into ustar's name (100 bytes) and prefix (155 bytes) fields. */
function splitName(name: string): { name: string; prefix: string } {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: "" };
  for (let i = name.lastIndexOf("/"); i > 0; i = name.lastIndexOf("/", i - 1)) {
    const prefix = name.slice(0, i);
    const rest = name.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100) return { name: rest, prefix };
  }
  throw new Error(`path too long for a ustar archive: ${name}`);
}

function header(entry: { name: string; size: number; mode: number; mtime: number; type: "0" | "5" }): Buffer {
  const h = Buffer.alloc(BLOCK, 0);
  const { name, prefix } = splitName(entry.name);
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
        parts.push(header({ name: `${name}/`, size: 0, mode: 0o755, mtime: st.mtimeMs / 1000, type: "5" }));
        walk(abs, name);
      } else if (st.isFile()) {
        const data = readFileSync(abs);
        parts.push(header({ name, size: data.length, mode: st.mode & 0o111 ? 0o755 : 0o644, mtime: st.mtimeMs / 1000, type: "0" }));
        parts.push(data);
        const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
        if (pad) parts.push(Buffer.alloc(pad, 0));
      }
    }
  };
  walk(root, "");
  parts.push(Buffer.alloc(BLOCK * 2, 0));
  return gzipSync(Buffer.concat(parts));
}
