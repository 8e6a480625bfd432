// Platform admins see every account and deactivate or reactivate them. A deactivated user cannot sign in
// (password or single sign-on); their sessions and API tokens are revoked in the same transaction, and every
// request re-reads the account, so whatever they had open stops at once. Reactivating lets them sign in
// again; revoked tokens stay revoked (they create new ones).
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import { apiTokens, memberships, sessions, teams, users } from "@/db/schema";
import type { UserAdminDto } from "@/lib/schemas/users";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { authChanged } from "../auth/token-cache";

async function requirePlatformAdmin(ctx: Ctx, action: string, target: string): Promise<void> {
  if (!can(ctx.actor, "manage_platform")) {
    throw await denied(ctx, { action, target, mode: "write", message: "Only platform admins manage user accounts." });
  }
}

/** Every account with its teams, last activity and status (admins only). One query. */
export async function listUsers(ctx: Ctx): Promise<UserAdminDto[]> {
  await requirePlatformAdmin(ctx, "user.list", "users");
  const rows = await ctx.db
    .select({
      id: users.id, email: users.email, name: users.name, isAdmin: users.isAdmin, createdAt: users.createdAt,
      lastActiveAt: users.lastActiveAt, deactivatedAt: users.deactivatedAt,
      hasPassword: sql<boolean>`${users.passwordHash} is not null`, hasSso: sql<boolean>`${users.oidcSubject} is not null`,
      // Qualified by hand: in a one-table select drizzle leaves column names bare, and "id" would be the team's.
      teams: sql<{ slug: string; role: string }[] | string>`coalesce((
        select json_agg(json_build_object('slug', t.slug, 'role', m.role) order by t.slug)
        from ${memberships} m join ${teams} t on t.id = m.team_id and t.archived_at is null
        where m.user_id = ${users}."id"), '[]'::json)`,
    })
    .from(users)
    .orderBy(asc(users.email));
  return rows.map((r) => ({
    id: r.id, email: r.email, name: r.name, is_admin: r.isAdmin,
    teams: typeof r.teams === "string" ? (JSON.parse(r.teams) as UserAdminDto["teams"]) : r.teams,
    created_at: r.createdAt.toISOString(), last_active_at: r.lastActiveAt?.toISOString() ?? null, deactivated_at: r.deactivatedAt?.toISOString() ?? null,
    sign_in: { password: Boolean(r.hasPassword), sso: Boolean(r.hasSso) },
  }));
}

/** Deactivates (active=false) or reactivates a user. Admins cannot deactivate themselves. */
export async function setUserActive(ctx: Ctx, input: { user_id: string; active: boolean }): Promise<{ email: string; active: boolean }> {
  await requirePlatformAdmin(ctx, input.active ? "user.reactivate" : "user.deactivate", `user:${input.user_id}`);
  const [user] = /^[0-9a-f-]{36}$/i.test(input.user_id)
    ? await ctx.db.select({ id: users.id, email: users.email, deactivatedAt: users.deactivatedAt }).from(users).where(eq(users.id, input.user_id))
    : [];
  if (!user) throw new AppError("not_found", `No user ${input.user_id}.`);
  if (!input.active && user.id === ctx.actor.userId) throw new AppError("conflict", "You cannot deactivate your own account; ask another platform admin.");
  if (input.active === !user.deactivatedAt) return { email: user.email, active: input.active };
  await ctx.db.transaction(async (tx) => {
    if (input.active) {
      await tx.update(users).set({ deactivatedAt: null }).where(eq(users.id, user.id));
      await appendAudit(tx, ctx, { action: "user.reactivate", target: `user:${user.email}` });
      return;
    }
    // Two admins deactivating each other at once must not leave none: the active admins' rows are locked, and
    // the acting admin must still be one of them.
    const activeAdmins = await tx.select({ id: users.id }).from(users).where(and(eq(users.isAdmin, true), isNull(users.deactivatedAt))).for("update");
    if (ctx.actor.userId && !activeAdmins.some((a) => a.id === ctx.actor.userId)) {
      throw new AppError("forbidden", "Your own account is no longer an active platform admin.");
    }
    if (activeAdmins.some((a) => a.id === user.id) && activeAdmins.length <= 1) {
      throw new AppError("conflict", `${user.email} is the last active platform admin; make another admin first.`);
    }
    const now = new Date();
    await tx.update(users).set({ deactivatedAt: now, devicesValidAfter: now }).where(eq(users.id, user.id));
    const endedSessions = await tx.update(sessions).set({ revokedAt: now }).where(and(eq(sessions.userId, user.id), isNull(sessions.revokedAt))).returning({ id: sessions.id });
    const liveTokens = and(eq(apiTokens.userId, user.id), isNull(apiTokens.revokedAt));
    const revokedTokens = await tx.select({ id: apiTokens.id, teamId: apiTokens.teamId, team: teams.slug }).from(apiTokens).innerJoin(teams, eq(teams.id, apiTokens.teamId)).where(liveTokens);
    await tx.update(apiTokens).set({ revokedAt: now }).where(liveTokens);
    await appendAudit(tx, ctx, { action: "user.deactivate", target: `user:${user.email}`, details: { ended_sessions: endedSessions.length, revoked_tokens: revokedTokens.length } });
    for (const token of revokedTokens) {
      await appendAudit(tx, ctx, { action: "token.revoke", target: `token:${token.id}`, teamId: token.teamId, team: token.team, details: { reason: "user_deactivated", user: user.email } });
    }
  });
  authChanged();
  return { email: user.email, active: input.active };
}
