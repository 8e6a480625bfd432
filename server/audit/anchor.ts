// The audit chain's head, anchored outside the database ($CAIRN_DATA_DIR/audit-anchor): the newest row's
// id and hash, how many rows the chain held up to it, and the first keyed row. Someone with database access
// alone cannot move it back, so deleting the newest rows, truncating, or rewriting the chain from scratch
// shows as a head behind (or different from) the anchor. A loop refreshes it every interval off the request
// path (one indexed read; a write only when the head moved), written to a temp file and renamed into place.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import path from "node:path";
import { and, count, desc, eq, gt, lte, min } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "@/db/client";
import { auditEvents } from "@/db/schema";
import { env } from "../env";
import { HASH_VERSION } from "./hash";

const anchorSchema = z.object({
  version: z.literal(1),
  id: z.number().int().positive(),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  count: z.number().int().positive(),
  keyed_from: z.number().int().positive().nullable(),
  at: z.string(),
});
export type AuditAnchor = z.infer<typeof anchorSchema>;

const globals = globalThis as unknown as { __cairnAuditAnchorFile?: string };

/** Where this data dir keeps the anchor (tests point each database at a file of its own). */
export function anchorFile(): string {
  return globals.__cairnAuditAnchorFile ?? path.join(env().dataDir, "audit-anchor");
}

export function setAnchorFile(file: string | undefined): void {
  globals.__cairnAuditAnchorFile = file;
}

/** The anchor, null when none was written yet; an unreadable anchor is an error (it is evidence). */
export function readAnchor(file = anchorFile()): AuditAnchor | null {
  if (!existsSync(file)) return null;
  const parsed = anchorSchema.safeParse((() => {
    try {
      return JSON.parse(readFileSync(file, "utf8"));
    } catch {
      return null;
    }
  })());
  if (!parsed.success) throw new Error(`The audit anchor ${file} is not readable; it was damaged or edited.`);
  return parsed.data;
}

async function writeAnchor(file: string, anchor: AuditAnchor): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const handle = await open(temp, "w", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(anchor)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

export type AnchorRefresh = { anchor: AuditAnchor | null; moved: boolean; problem: string | null };

/**
 * Moves the anchor to the chain's current head. It moves only forward and only while the anchored row is
 * still there with its hash: after a deletion the old anchor stays, so verify keeps reporting it.
 */
export async function refreshAnchor(db: Db, file = anchorFile()): Promise<AnchorRefresh> {
  const current = readAnchor(file);
  const [head] = await db.select({ id: auditEvents.id, hash: auditEvents.hash, hashVersion: auditEvents.hashVersion })
    .from(auditEvents).orderBy(desc(auditEvents.id)).limit(1);
  if (!head) {
    return { anchor: current, moved: false, problem: current ? `The audit trail is empty, but event #${current.id} was anchored.` : null };
  }
  if (current && head.id === current.id && head.hash === current.hash) return { anchor: current, moved: false, problem: null };
  let counted: number;
  let keyedFrom = current?.keyed_from ?? null;
  if (current) {
    const [anchored] = await db.select({ hash: auditEvents.hash }).from(auditEvents).where(eq(auditEvents.id, current.id));
    if (!anchored || anchored.hash !== current.hash || head.id < current.id) {
      return { anchor: current, moved: false, problem: `The anchored audit event #${current.id} is ${anchored ? "changed" : "gone"}; the anchor stays where it is.` };
    }
    const [added] = await db.select({ n: count() }).from(auditEvents).where(and(gt(auditEvents.id, current.id), lte(auditEvents.id, head.id)));
    counted = current.count + Number(added!.n);
  } else {
    const [all] = await db.select({ n: count() }).from(auditEvents).where(lte(auditEvents.id, head.id));
    counted = Number(all!.n);
  }
  if (keyedFrom === null && head.hashVersion === HASH_VERSION.keyed) {
    const [first] = await db.select({ id: min(auditEvents.id) }).from(auditEvents).where(eq(auditEvents.hashVersion, HASH_VERSION.keyed));
    keyedFrom = first?.id ?? null;
  }
  const anchor: AuditAnchor = { version: 1, id: head.id, hash: head.hash, count: counted, keyed_from: keyedFrom, at: new Date().toISOString() };
  await writeAnchor(file, anchor);
  return { anchor, moved: true, problem: null };
}
