// Pinning a model version's files. Registering copies every file under the version's location into the
// registry's own folder ($CAIRN_DATA_DIR/registry/versions/<version id>/), hashing each byte as it is
// copied, and keeps a manifest (path, size, SHA-256) and one digest over it on the version. Nothing that
// writes run artifacts can reach that folder, so a later overwrite of the run's model.onnx changes
// nothing about the version; deploys copy from the pinned folder and check the hash before serving.
import path from "node:path";
import type { PinnedFile } from "@/db/schema";
import { createFsArtifactStore } from "../artifacts/fs-store";
import { hashing, sha256 } from "../artifacts/hashing";
import type { ArtifactStore } from "../artifacts/store";
import { env } from "../env";
import { AppError } from "../errors";
import { log } from "../observability/log";

/** More files than this under one version's location is not a model folder (e.g. a whole run's artifacts). */
export const MAX_PINNED_FILES = 2_000;

const globals = globalThis as unknown as { __cairnPinned?: { dir: string; store: ArtifactStore } };

/** The registry's folder: never addressed by any artifact API (its roots are version ids, not experiments). */
export function pinnedDir(): string {
  return path.join(env().dataDir, "registry");
}

export function pinnedStore(): ArtifactStore {
  const dir = pinnedDir();
  if (globals.__cairnPinned?.dir !== dir) globals.__cairnPinned = { dir, store: createFsArtifactStore(dir) };
  return globals.__cairnPinned.store;
}

export const pinRoot = (versionId: string) => ["versions", versionId];

export type Pin = {
  manifest: PinnedFile[];
  digest: string;
  /** Where the version's location sits inside the pinned folder: "" for a folder, the file's name for a single file. */
  rel: string;
};

const byPath = (a: PinnedFile, b: PinnedFile) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path));

/** sha256:<hex> over the manifest, sorted by path: the same files always give the same digest. */
export function manifestDigest(manifest: readonly PinnedFile[]): string {
  const canonical = JSON.stringify([...manifest].sort(byPath).map((f) => [f.path, f.size, f.sha256]));
  return `sha256:${sha256().update(canonical).digest("hex")}`;
}

/** Every file under `rel` (a folder) as paths relative to it, depth first. */
async function filesUnder(store: ArtifactStore, root: string[], rel: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await store.list(root, dir)) ?? []) {
      if (e.is_dir) await walk(e.path);
      else found.push(rel ? e.path.slice(rel.length + 1) : e.path);
      if (found.length > MAX_PINNED_FILES) {
        throw new AppError("invalid_input", `The version's location holds more than ${MAX_PINNED_FILES} files; register the model's own folder (such as runs:/<run_id>/model), not a whole run.`);
      }
    }
  };
  await walk(rel);
  return found;
}

/**
 * Copies the files at `rel` in `source` (a folder, a single file, or nothing) into the version's pinned
 * folder and returns their manifest and digest. Each file is read once: what is hashed is what is kept.
 * On failure nothing of the pin is left behind.
 */
export async function pinVersionFiles(source: { store: ArtifactStore; root: string[]; rel: string }, versionId: string): Promise<Pin> {
  const at = await source.store.stat(source.root, source.rel);
  const pinned = pinnedStore();
  const root = pinRoot(versionId);
  const name = source.rel.split("/").pop() ?? source.rel;
  const files = !at ? [] : at.is_dir ? await filesUnder(source.store, source.root, source.rel) : [name];
  const manifest: PinnedFile[] = [];
  try {
    for (const file of files) {
      const from = at?.is_dir ? (source.rel ? `${source.rel}/${file}` : file) : source.rel;
      const got = await source.store.get(source.root, from);
      if (!got) throw new AppError("conflict", `The model file ${from} changed while the version was being registered; register it again.`);
      const hash = sha256();
      const { size } = await pinned.put(root, file, hashing(got.stream, hash), { maxBytes: Number.MAX_SAFE_INTEGER });
      manifest.push({ path: file, size, sha256: hash.digest("hex") });
    }
  } catch (err) {
    await removePin(versionId);
    throw err;
  }
  manifest.sort(byPath);
  return { manifest, digest: manifestDigest(manifest), rel: at && !at.is_dir ? name : "" };
}

/** Removes a version's pinned files (a deleted version, or a registration that did not commit). */
export async function removePin(versionId: string): Promise<void> {
  await pinnedStore().removeAll(pinRoot(versionId)).catch((err: unknown) => log.error(`could not remove the pinned files of version ${versionId}`, { err }));
}

/** The pinned entry of the file a deployment serves (the version's ONNX model), or null. */
export function servedFile(manifest: readonly PinnedFile[] | null, onnxPath: string | null): PinnedFile | null {
  if (!manifest || !onnxPath) return null;
  return manifest.find((f) => f.path === onnxPath) ?? null;
}
