// Verifying the audit chain: every row's link and hash (keyed rows under this server's audit key, rows from
// before the key under the old plain hash), then the head against the anchor kept outside the database.
// The whole chain is always walked; a team lead is told about their teams' events only, and of a break
// elsewhere only that there is one.
import { flushDenials } from "./denials";
import { asc, gt } from "drizzle-orm";
import { auditEvents } from "@/db/schema";
import type { AuditVerifyDto } from "@/lib/schemas/audit";
import type { Ctx } from "../context";
import { auditKey } from "../env";
import { readAnchor } from "./anchor";
import type { AuditAnchor } from "./anchor";
import { GENESIS_HASH, HASH_VERSION, auditKeyId, keyedAuditHash, legacyAuditHash } from "./hash";
import { auditableTeams, canViewAudit } from "./scope";
import { denied } from "./record";

const VERIFY_BATCH = 2000;

type Row = typeof auditEvents.$inferSelect;
type Break = { id: number; visible: boolean; reason: string };

/** Why a row does not verify, or null. */
function rowProblem(r: Row, state: { prevHash: string; sawKeyed: boolean; keyedFrom: number | null; key: string; keyId: string }): string | null {
  if (r.prevHash !== state.prevHash) return "its link to the event before it does not match (an earlier event was removed or changed)";
  if (r.hashVersion === HASH_VERSION.legacy) {
    if (state.sawKeyed || (state.keyedFrom !== null && r.id >= state.keyedFrom)) {
      return "it carries the old unkeyed hash where the chain is keyed (the chain was re-hashed without the key)";
    }
    return r.hash === legacyAuditHash(r.prevHash, r) ? null : "its hash does not match its content (it was changed)";
  }
  if (r.keyId !== state.keyId) {
    return `it was hashed under another audit key (key id ${r.keyId ?? "none"}, this server's is ${state.keyId}): instances sharing a database need the same CAIRN_AUDIT_KEY, or the row was forged`;
  }
  return r.hash === keyedAuditHash(state.key, r.prevHash, r) ? null : "its keyed hash does not match its content (it was changed or re-hashed without the key)";
}

type AnchorCheck = { status: AuditVerifyDto["anchor"]; problem: string | null };

function checkAnchor(anchor: AuditAnchor | null, seen: { lastId: number; anchoredHash: string | null; countUpToAnchor: number }): AnchorCheck {
  if (!anchor) return { status: "none", problem: null };
  if (seen.anchoredHash === null) {
    return {
      status: "broken",
      problem: seen.lastId < anchor.id
        ? `the chain ends at event #${seen.lastId || "none"}, but event #${anchor.id} was anchored: the newest events were deleted (or the table truncated)`
        : `the anchored event #${anchor.id} is missing`,
    };
  }
  if (seen.anchoredHash !== anchor.hash) return { status: "broken", problem: `the anchored event #${anchor.id} does not carry the anchored hash (the chain was rewritten)` };
  if (seen.countUpToAnchor !== anchor.count) {
    return { status: "broken", problem: `the chain holds ${seen.countUpToAnchor} events up to the anchored event #${anchor.id}, the anchor recorded ${anchor.count}` };
  }
  return { status: "matched", problem: null };
}

/** Walks the whole chain in id order and checks its head against the anchor. */
export async function verifyAudit(ctx: Ctx): Promise<AuditVerifyDto> {
  if (!canViewAudit(ctx)) {
    throw await denied(ctx, { action: "audit.verify", target: "audit", mode: "write", message: "Verifying the audit trail is open to team leads and platform admins." });
  }
  await flushDenials(ctx.db);
  const teams = auditableTeams(ctx);
  const visible = (r: Row) => teams === undefined || (r.teamId !== null && teams.includes(r.teamId));
  let anchor: AuditAnchor | null = null;
  let anchorUnreadable: string | null = null;
  try {
    anchor = readAnchor();
  } catch (err) {
    anchorUnreadable = err instanceof Error ? err.message : String(err);
  }
  const key = auditKey();
  const state = { prevHash: GENESIS_HASH, sawKeyed: false, keyedFrom: anchor?.keyed_from ?? null, key, keyId: auditKeyId(key) };
  const seen = { lastId: 0, anchoredHash: null as string | null, countUpToAnchor: 0 };
  let checked = 0;
  let firstBreak: Break | null = null;
  let firstVisibleBreak: Break | null = null;
  for (let afterId = 0; ;) {
    const rows = await ctx.db.select().from(auditEvents).where(gt(auditEvents.id, afterId)).orderBy(asc(auditEvents.id)).limit(VERIFY_BATCH);
    for (const r of rows) {
      const isVisible = visible(r);
      if (isVisible) checked++;
      const reason = rowProblem(r, state);
      if (reason) {
        const b = { id: r.id, visible: isVisible, reason };
        firstBreak ??= b;
        if (isVisible) firstVisibleBreak ??= b;
      }
      // Later rows are checked against what is stored, so one changed row is reported once.
      state.prevHash = r.hash;
      if (r.hashVersion === HASH_VERSION.keyed) state.sawKeyed = true;
      seen.lastId = r.id;
      if (anchor && r.id <= anchor.id) seen.countUpToAnchor++;
      if (anchor && r.id === anchor.id) seen.anchoredHash = r.hash;
    }
    if (rows.length < VERIFY_BATCH) break;
    afterId = rows[rows.length - 1]!.id;
  }
  const anchored = anchorUnreadable ? { status: "broken" as const, problem: anchorUnreadable } : checkAnchor(anchor, seen);
  const isAdmin = teams === undefined;
  const problems: string[] = [];
  if (firstVisibleBreak) problems.push(`Event #${firstVisibleBreak.id}: ${firstVisibleBreak.reason}.`);
  if (firstBreak && !firstBreak.visible) {
    problems.push(isAdmin ? `Event #${firstBreak.id}: ${firstBreak.reason}.` : "The chain is broken outside your teams' events; a platform admin can see where.");
  }
  if (anchored.problem) {
    problems.push(isAdmin
      ? `Anchor: ${anchored.problem}.`
      : "The newest events of the audit trail were removed or rewritten (the chain's head does not match the anchor this server keeps); a platform admin can see where.");
  }
  return {
    ok: firstBreak === null && anchored.status !== "broken",
    checked,
    first_broken_id: firstVisibleBreak?.id ?? null,
    scope: isAdmin ? "all" : "own_teams",
    anchor: anchored.status,
    problem: problems.length ? problems.join(" ") : null,
  };
}
