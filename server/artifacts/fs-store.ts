// Filesystem artifact backend: files live at <baseDir>/<root...>/<relPath>.
//
// Symlinks are never created by this store, so any found on disk were planted from outside. Ones leading out of
// the root are refused (joinUnder); a symlink as the final component is treated as absent (get/stat return
// null, list skips it, put replaces the link itself) so a link can neither leak a file nor make listings cycle.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import type { FileHandle } from "node:fs/promises";
import fsp from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { AppError } from "../errors";
import { joinUnder, normalizeArtifactPath } from "./paths";
import { artifactRootPath } from "./store";
import type { ArtifactEntry, ArtifactStore } from "./store";

// Uploads are staged here, on the same filesystem as their destination, so the final rename is atomic.
const TMP_DIR = ".tmp";

type Body = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

function errnoCode(err: unknown): string | undefined {
  return err instanceof Error && "code" in err && typeof err.code === "string" ? err.code : undefined;
}

async function lstatOrNull(p: string): Promise<fs.Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (err) {
    const code = errnoCode(err);
    if (code === "ENOENT" || code === "ENOTDIR") return null;
    throw err;
  }
}

function describeLimit(maxBytes: number): string {
  const mb = maxBytes / (1024 * 1024);
  return mb >= 0.01 ? `${Number(mb.toFixed(2))} MB` : `${maxBytes}-byte`;
}

/** The chunks of a web stream or async iterable; stopping early cancels the stream (its producer stops sending). */
export async function* chunksOf(body: Body): AsyncGenerator<Uint8Array> {
  if ("getReader" in body) {
    const reader = body.getReader();
    let done = false;
    try {
      for (;;) {
        const next = await reader.read();
        if (next.done) {
          done = true;
          return;
        }
        yield next.value;
      }
    } finally {
      // Stopping early (size limit, write error) must tell the producer, or an HTTP upload keeps streaming.
      if (!done) await reader.cancel().catch(() => undefined);
      reader.releaseLock();
    }
  } else {
    yield* body;
  }
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

/** Best-effort directory fsync so the rename itself survives a crash; some platforms cannot open directories. */
async function syncDir(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(dir, "r");
    await handle.sync();
  } catch {
    // Durability nicety only; the data file itself was already fsynced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

export function createFsArtifactStore(baseDir: string): ArtifactStore {
  const base = path.resolve(baseDir);

  /** Absolute directory of a root, checked to be strictly inside baseDir even through symlinks. */
  function rootDir(root: string[]): string {
    const rel = artifactRootPath(root);
    if (root[0] === TMP_DIR) throw new Error(`Artifact root ${JSON.stringify(root)} collides with the upload staging folder`);
    return joinUnder(base, rel);
  }

  function resolve(root: string[], rel: string): { dir: string; target: string } {
    const dir = rootDir(root);
    return { dir, target: rel === "" ? dir : joinUnder(dir, rel) };
  }

  /** The first prefix of `rel` that exists as something other than a directory, for a conflict message. */
  async function blockingAncestor(dir: string, rel: string): Promise<string | null> {
    const segments = rel.split("/");
    for (let i = 1; i < segments.length; i++) {
      const prefix = segments.slice(0, i).join("/");
      const st = await lstatOrNull(path.join(dir, prefix));
      if (!st) return null;
      if (!st.isDirectory()) return prefix;
    }
    return null;
  }

  async function conflictCheck(dir: string, rel: string, target: string): Promise<void> {
    const blocker = await blockingAncestor(dir, rel);
    if (blocker !== null) {
      throw new AppError("conflict", `Cannot store artifact "${rel}": "${blocker}" is a file, not a folder. Choose a different path.`);
    }
    if ((await lstatOrNull(target))?.isDirectory()) {
      throw new AppError("conflict", `Cannot store artifact "${rel}": a folder with that path already exists. Choose a different path.`);
    }
  }

  async function stagingDir(): Promise<string> {
    const tmp = path.join(base, TMP_DIR);
    await fsp.mkdir(tmp, { recursive: true });
    // A planted symlink here would stage uploads (and rename them) outside the store.
    const st = await fsp.lstat(tmp);
    if (!st.isDirectory()) throw new Error(`Artifact staging folder ${tmp} is not a plain directory`);
    joinUnder(base, TMP_DIR);
    return tmp;
  }

  return {
    async put(root, relPath, body, opts) {
      const maxBytes = opts.maxBytes;
      if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new Error(`Invalid artifact maxBytes ${String(maxBytes)}`);
      const rel = normalizeArtifactPath(relPath);
      const { dir, target } = resolve(root, rel);
      // Checked before the upload so a doomed request fails fast, and again at rename time below.
      await conflictCheck(dir, rel, target);

      const tmpPath = path.join(await stagingDir(), `${randomUUID()}.part`);
      let size = 0;
      let committed = false;
      try {
        const handle = await fsp.open(tmpPath, "wx");
        try {
          for await (const chunk of chunksOf(body)) {
            if (!(chunk instanceof Uint8Array)) throw new Error("Artifact body chunks must be Uint8Array");
            size += chunk.byteLength;
            if (size > maxBytes) {
              throw new AppError(
                "invalid_input",
                `Artifact is larger than the ${describeLimit(maxBytes)} upload limit; split it into smaller files or ask an admin to raise the limit.`,
              );
            }
            await writeAll(handle, chunk);
          }
          await handle.sync();
        } finally {
          await handle.close();
        }

        // Parents are created only once the body is known to fit, so a refused upload leaves no empty folders.
        const parent = path.dirname(target);
        const place = async () => {
          try {
            await fsp.mkdir(parent, { recursive: true });
          } catch (err) {
            const code = errnoCode(err);
            if (code === "ENOTDIR" || code === "EEXIST") await conflictCheck(dir, rel, target);
            throw err;
          }
          // Re-check after mkdir: symlinks could have been planted while the body was streaming.
          resolve(root, rel);
          await conflictCheck(dir, rel, target);
          try {
            await fsp.rename(tmpPath, target);
          } catch (err) {
            const code = errnoCode(err);
            if (code === "EISDIR" || code === "ENOTDIR" || code === "ENOTEMPTY" || code === "EEXIST") await conflictCheck(dir, rel, target);
            throw err;
          }
          committed = true;
        };
        if (opts.commit) await opts.commit(place);
        else await place();
        if (!committed) throw new Error("the artifact's commit hook returned without placing the file");
        await syncDir(parent);
        return { size };
      } finally {
        if (!committed) await fsp.rm(tmpPath, { force: true });
      }
    },

    async get(root, relPath) {
      const rel = normalizeArtifactPath(relPath, { allowEmpty: true });
      const { target } = resolve(root, rel);
      const st = await lstatOrNull(target);
      if (!st?.isFile()) return null;
      let handle: FileHandle;
      try {
        // O_NOFOLLOW: refuse a symlink swapped in after the lstat above.
        handle = await fsp.open(target, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
      } catch (err) {
        const code = errnoCode(err);
        if (code === "ENOENT" || code === "ENOTDIR" || code === "ELOOP") return null;
        throw err;
      }
      const opened = await handle.stat();
      if (!opened.isFile() || opened.ino !== st.ino || opened.dev !== st.dev) {
        await handle.close();
        return null;
      }
      // The stream owns the handle (autoClose) and reads the inode we checked, whatever happens to the name.
      const nodeStream = fs.createReadStream(target, { fd: handle, autoClose: true });
      return { stream: Readable.toWeb(nodeStream) as ReadableStream<Uint8Array>, size: opened.size };
    },

    async list(root, relDir) {
      const rel = normalizeArtifactPath(relDir, { allowEmpty: true });
      const { target } = resolve(root, rel);
      const st = await lstatOrNull(target);
      if (!st) return [];
      if (st.isSymbolicLink()) return [];
      if (!st.isDirectory()) return null;
      let dirents: fs.Dirent[];
      try {
        dirents = await fsp.readdir(target, { withFileTypes: true });
      } catch (err) {
        const code = errnoCode(err);
        if (code === "ENOENT") return [];
        if (code === "ENOTDIR") return null;
        throw err;
      }
      const entries: { name: Buffer; entry: ArtifactEntry }[] = [];
      for (const dirent of dirents) {
        const entryPath = rel === "" ? dirent.name : `${rel}/${dirent.name}`;
        // Skip names that could not be addressed back through the API (planted from outside).
        let valid: string | null = null;
        try {
          valid = normalizeArtifactPath(entryPath);
        } catch {
          valid = null;
        }
        if (valid !== entryPath) continue;
        if (dirent.isDirectory()) {
          entries.push({ name: Buffer.from(dirent.name), entry: { path: entryPath, is_dir: true } });
        } else if (dirent.isFile()) {
          const fileStat = await lstatOrNull(path.join(target, dirent.name));
          if (!fileStat?.isFile()) continue;
          entries.push({ name: Buffer.from(dirent.name), entry: { path: entryPath, is_dir: false, file_size: fileStat.size } });
        }
      }
      // Byte order of UTF-8 equals code point order, which is how MLflow (Python) sorts.
      entries.sort((a, b) => Buffer.compare(a.name, b.name));
      return entries.map((e) => e.entry);
    },

    async stat(root, relPath) {
      const rel = normalizeArtifactPath(relPath, { allowEmpty: true });
      const { target } = resolve(root, rel);
      const st = await lstatOrNull(target);
      if (st?.isDirectory()) return { is_dir: true, size: 0 };
      if (st?.isFile()) return { is_dir: false, size: st.size };
      return null;
    },

    async usage(root) {
      const { dir } = resolve(root, "");
      let total = 0;
      const walk = async (at: string): Promise<void> => {
        let dirents: fs.Dirent[];
        try {
          dirents = await fsp.readdir(at, { withFileTypes: true });
        } catch (err) {
          if (errnoCode(err) === "ENOENT" || errnoCode(err) === "ENOTDIR") return;
          throw err;
        }
        for (const d of dirents) {
          const p = path.join(at, d.name);
          if (d.isDirectory()) await walk(p);
          else if (d.isFile()) total += (await lstatOrNull(p))?.size ?? 0;
        }
      };
      await walk(dir);
      return total;
    },

    async removeAll(root) {
      const { dir } = resolve(root, "");
      // rm removes symlinks themselves, never what they point at.
      await fsp.rm(dir, { recursive: true, force: true });
    },
  };
}
