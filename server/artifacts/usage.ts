// Artifact storage per team, for the quota's `storage_gib`: the bytes under the team's root in the
// artifact store, measured by walking it (cached for a minute, and kept current by the uploads this
// process accepts). An upload that would take the team over its quota is refused before it is kept.
import { eq } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { teamQuotas } from "@/db/schema";
import { AppError } from "../errors";
import type { ArtifactStore } from "./store";

const TTL_MS = 60_000;
const GIB = 2 ** 30;
type Entry = { bytes: number; at: number };
const G = globalThis as unknown as { __cairnStorageUsage?: Map<string, Entry> };
const cache = () => (G.__cairnStorageUsage ??= new Map());

/** Bytes of artifacts the team holds (runs, logged models, code snapshots), measured at most a minute ago. */
export async function teamStorageBytes(store: ArtifactStore, team: string, opts: { fresh?: boolean } = {}): Promise<number> {
  const hit = cache().get(team);
  if (hit && !opts.fresh && Date.now() - hit.at < TTL_MS) return hit.bytes;
  const bytes = await store.usage([team]);
  cache().set(team, { bytes, at: Date.now() });
  return bytes;
}

/** Counts an accepted upload until the next measurement. */
export function noteStored(team: string, bytes: number): void {
  const hit = cache().get(team);
  if (hit) hit.bytes += bytes;
}

export const gib = (bytes: number) => Math.round((bytes / GIB) * 1e6) / 1e6;

/**
 * Stores one upload within the team's storage quota: refused up front when the team is already at its
 * quota, and stopped (nothing kept) when the body would take it over.
 */
export async function putWithinQuota(
  db: DbOrTx, store: ArtifactStore, loc: { root: string[]; rel: string; teamId: string }, body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, maxBytes: number,
): Promise<{ size: number }> {
  const team = loc.root[0]!;
  const [quota] = await db.select({ storageGib: teamQuotas.storageGib }).from(teamQuotas).where(eq(teamQuotas.teamId, loc.teamId));
  const limit = quota?.storageGib ?? null;
  if (limit === null) {
    const stored = await store.put(loc.root, loc.rel, body, { maxBytes });
    noteStored(team, stored.size);
    return stored;
  }
  const used = await teamStorageBytes(store, team);
  const room = Math.floor(limit * GIB - used);
  const over = () => new AppError("quota_exceeded", `Team ${team} uses ${Math.round((used / GIB) * 100) / 100} GiB of its ${limit} GiB artifact storage quota; this upload does not fit. Delete old runs' artifacts or ask an admin to raise the quota.`);
  if (room <= 0) throw over();
  try {
    const stored = await store.put(loc.root, loc.rel, body, { maxBytes: Math.min(maxBytes, room) });
    noteStored(team, stored.size);
    return stored;
  } catch (err) {
    if (room < maxBytes && err instanceof AppError && err.code === "invalid_input" && /larger than/.test(err.message)) throw over();
    throw err;
  }
}
