// Storage per team, for the quota's `storage_gib`: the bytes under the team's root in the artifact store,
// measured by walking it (cached for a minute, and kept current by the uploads this process accepts), plus
// the team's uploaded code archives (kept beside the store, counted from their rows). An upload that would
// take the team over its quota is refused before it is kept.
import { eq, sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { codeArchives, modelVersions, registeredModels, teamQuotas } from "@/db/schema";
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

/** Bytes of the team's uploaded code archives (as uploaded; they live under the data dir, outside the artifact store). */
export async function codeArchiveBytes(db: DbOrTx, teamId: string): Promise<number> {
  const [row] = await db.select({ bytes: sql<string | null>`sum(${codeArchives.sizeBytes})` }).from(codeArchives).where(eq(codeArchives.teamId, teamId));
  return Number(row?.bytes ?? 0);
}

/** Bytes of the team's registered versions' pinned copies (their manifests' sizes; they live under the data dir). */
export async function pinnedVersionBytes(db: DbOrTx, teamId: string): Promise<number> {
  const [row] = await db
    .select({ bytes: sql<string | null>`sum((f ->> 'size')::bigint)` })
    .from(modelVersions)
    .innerJoin(registeredModels, eq(registeredModels.id, modelVersions.modelId))
    .crossJoin(sql`jsonb_array_elements(coalesce(${modelVersions.contentManifest}, '[]'::jsonb)) as f`)
    .where(eq(registeredModels.teamId, teamId));
  return Number(row?.bytes ?? 0);
}

type TeamRef = { id: string; slug: string };

/** Everything the storage quota counts for the team: its artifacts, its code archives and its pinned versions. */
export async function teamStoredBytes(db: DbOrTx, store: ArtifactStore, team: TeamRef, opts: { fresh?: boolean } = {}): Promise<number> {
  const [artifacts, code, pinned] = await Promise.all([teamStorageBytes(store, team.slug, opts), codeArchiveBytes(db, team.id), pinnedVersionBytes(db, team.id)]);
  return artifacts + code + pinned;
}

/** Bytes promised to uploads under way, per team: parallel uploads (MLflow sends several at once) share the room. */
const reserved = new Map<string, number>();
const bookkeeping = new Map<string, Promise<void>>();

/**
 * Runs `fn` alone for the team among this process's reservations. Reading what the team uses and reserving
 * room happen in one turn, and a finished upload gives its room back only between turns: so a reader sees
 * an upload's bytes, its reservation, or both (conservative), never neither.
 */
async function exclusive<T>(team: string, fn: () => Promise<T>): Promise<T> {
  const before = bookkeeping.get(team) ?? Promise.resolve();
  let done!: () => void;
  const mine = before.then(() => new Promise<void>((resolve) => (done = resolve)));
  bookkeeping.set(team, mine);
  await before;
  try {
    return await fn();
  } finally {
    done();
    if (bookkeeping.get(team) === mine) bookkeeping.delete(team);
  }
}

export type StorageRoom = {
  /** What this upload may keep: its own limit, or less when the quota leaves less. */
  hold: number;
  /** The quota refusal, for an upload that turned out larger than `hold` when `hold` is under its own limit. */
  over: (() => AppError) | null;
};

/**
 * Runs one upload within the team's storage quota: refused up front when the team is already at its quota;
 * otherwise the room it may use (`hold`) is reserved until `keep` ends, so uploads running side by side
 * cannot together overshoot the quota. `keep` stops (keeping nothing) once the body passes `hold`.
 */
export async function withStorageRoom<T>(db: DbOrTx, store: ArtifactStore, team: TeamRef, maxBytes: number, keep: (room: StorageRoom) => Promise<T>): Promise<T> {
  const limit = await storageLimitGib(db, team.id);
  if (limit === null) return keep({ hold: maxBytes, over: null });
  const room = await exclusive(team.slug, async () => {
    const used = await teamStoredBytes(db, store, team);
    const free = Math.floor(limit * GIB - used - (reserved.get(team.slug) ?? 0));
    const over = () => quotaError(team.slug, used, limit);
    if (free <= 0) throw over();
    const hold = Math.min(maxBytes, free);
    reserved.set(team.slug, (reserved.get(team.slug) ?? 0) + hold);
    return { hold, over: hold < maxBytes ? over : null };
  });
  try {
    return await keep(room);
  } finally {
    await exclusive(team.slug, async () => {
      reserved.set(team.slug, (reserved.get(team.slug) ?? room.hold) - room.hold);
    });
  }
}

/**
 * Stores one artifact upload within the team's storage quota (withStorageRoom): stopped, with nothing kept,
 * when the body would take the team over it.
 */
export async function putWithinQuota(
  db: DbOrTx, store: ArtifactStore, loc: { root: string[]; rel: string; teamId: string }, body: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>, maxBytes: number,
  commit?: (place: () => Promise<void>) => Promise<void>,
): Promise<{ size: number }> {
  const team = loc.root[0]!;
  return withStorageRoom(db, store, { id: loc.teamId, slug: team }, maxBytes, async ({ hold, over }) => {
    try {
      const stored = await store.put(loc.root, loc.rel, body, { maxBytes: hold, ...(commit ? { commit } : {}) });
      noteStored(team, stored.size);
      return stored;
    } catch (err) {
      if (over && err instanceof AppError && err.code === "invalid_input" && /larger than/.test(err.message)) throw over();
      throw err;
    }
  });
}

/** Refuses when `bytes` more would take the team over its storage quota (checked before work that will store them). */
export async function assertStorageRoom(db: DbOrTx, store: ArtifactStore, team: { id: string; slug: string }, bytes: number): Promise<void> {
  const limit = await storageLimitGib(db, team.id);
  if (limit === null) return;
  const used = await teamStoredBytes(db, store, team);
  if (used + (reserved.get(team.slug) ?? 0) + bytes > limit * GIB) throw quotaError(team.slug, used, limit);
}

async function storageLimitGib(db: DbOrTx, teamId: string): Promise<number | null> {
  const [quota] = await db.select({ storageGib: teamQuotas.storageGib }).from(teamQuotas).where(eq(teamQuotas.teamId, teamId));
  return quota?.storageGib ?? null;
}

function quotaError(team: string, used: number, limit: number): AppError {
  return new AppError(
    "quota_exceeded",
    `Team ${team} uses ${Math.round((used / GIB) * 100) / 100} GiB of its ${limit} GiB artifact storage quota (artifacts, code archives and registered versions' pinned copies); this upload does not fit. ` +
      "Ask an admin to raise the team's storage quota, or delete code archives the team no longer needs (DELETE /api/v1/code-archives/{id}); artifacts cannot be deleted through Cairn yet.",
  );
}
