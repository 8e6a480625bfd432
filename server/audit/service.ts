// Reading the audit trail: admins see every team, team leads their own teams (verifying: ./verify.ts).
import { and, desc, eq, gte, ilike, inArray, like, lt, or } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { auditEvents } from "@/db/schema";
import type { AuditEventDto, AuditQuery } from "@/lib/schemas/audit";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { findTeamBySlug } from "../teams/lookup";
import { denied } from "./record";
import { auditableTeams } from "./scope";

import { flushDenials } from "./denials";
export { canViewAudit } from "./scope";
export { verifyAudit } from "./verify";

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function encodeCursor(id: number): string {
  return Buffer.from(`a:${id}`).toString("base64url");
}

function decodeCursor(token: string): number {
  const m = /^a:(\d{1,15})$/.exec(Buffer.from(token, "base64url").toString("utf8"));
  if (!m) throw new AppError("invalid_input", "page_token is not valid; use the next_page_token of a previous answer.", { fields: { page_token: ["Not a page token from this API"] } });
  return Number(m[1]);
}

export async function listAudit(ctx: Ctx, q: AuditQuery): Promise<{ events: AuditEventDto[]; next_page_token: string | null }> {
  await flushDenials(ctx.db);
  let teams = auditableTeams(ctx);
  if (teams && teams.length === 0) {
    throw await denied(ctx, { action: "audit.read", target: "audit", mode: "write", message: "The audit trail is open to team leads (their teams) and platform admins." });
  }
  const conditions: (SQL | undefined)[] = [];
  if (q.team) {
    const team = await findTeamBySlug(ctx.db, q.team);
    if (!team || (teams && !teams.includes(team.id))) {
      // A team the actor belongs to but may not audit is forbidden; another team, or none, is not found.
      const missing = `Team "${q.team}" was not found.`;
      throw await denied(ctx, {
        action: "audit.read", target: `team:${q.team}`, teamId: team?.id, team: q.team, mode: team ? "write" : "read",
        message: team ? `Only team leads of ${q.team} (and admins) read its audit trail.` : missing, missing,
      });
    }
    teams = [team.id];
  }
  if (teams) conditions.push(inArray(auditEvents.teamId, teams));
  if (q.actor) conditions.push(ilike(auditEvents.actor, `%${escapeLike(q.actor)}%`));
  if (q.action) conditions.push(or(eq(auditEvents.action, q.action), like(auditEvents.action, `${escapeLike(q.action)}.%`)));
  if (q.outcome) conditions.push(eq(auditEvents.outcome, q.outcome));
  if (q.since) conditions.push(gte(auditEvents.at, new Date(q.since)));
  if (q.page_token) conditions.push(lt(auditEvents.id, decodeCursor(q.page_token)));
  const rows = await ctx.db
    .select()
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(desc(auditEvents.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page.at(-1);
  return {
    events: page.map((r) => ({
      id: r.id, at: r.at.toISOString(), actor: r.actor, actor_type: r.actorType, action: r.action, target: r.target,
      team: r.team, outcome: r.outcome, request_id: r.requestId, ip: r.ip, user_agent: r.userAgent, details: r.details,
    })),
    next_page_token: rows.length > q.limit && last ? encodeCursor(last.id) : null,
  };
}
