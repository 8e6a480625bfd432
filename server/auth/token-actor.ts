// Resolves `Authorization: Bearer <token>` to the token's user acting in the token's team.
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { SQL, SQLWrapper } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apiTokens, memberships, teams, users } from "@/db/schema";
import { AppError } from "../errors";
import { TOKEN_PATTERN, hashToken } from "../tokens/service";
import type { ActorMembership, TokenActor } from "./actor";
import type { Permission } from "./policy";
import { ROLE_PERMISSIONS } from "./policy";
import { cacheGeneration, recall, remember } from "./token-cache";

const LAST_USED_RESOLUTION_MS = 60_000;

export async function resolveTokenActor(db: Db, token: string): Promise<TokenActor> {
  if (!TOKEN_PATTERN.test(token)) {
    throw new AppError("unauthenticated", "The API token is malformed. Tokens look like cairn_… — create one under Settings → API tokens.");
  }
  const hash = hashToken(token);
  const cached = recall(hash);
  // A copy: no caller can change what the next request is given.
  if (cached) return { ...cached, memberships: cached.memberships.map((m) => ({ ...m })) };
  const generation = cacheGeneration();
  const now = new Date();
  // One round trip: the token, its team, its user and the user's memberships (read fresh every request).
  const [row] = await db
    .select({
      id: apiTokens.id, userId: apiTokens.userId, teamId: apiTokens.teamId, teamSlug: teams.slug, expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt, lastUsedAt: apiTokens.lastUsedAt, email: users.email, name: users.name, isAdmin: users.isAdmin,
      deactivatedAt: users.deactivatedAt,
      memberships: sql<ActorMembership[] | string>`coalesce((
        select json_agg(json_build_object('teamId', m.team_id, 'teamSlug', mt.slug, 'teamName', mt.name, 'role', m.role) order by mt.slug)
        from ${memberships} m join ${teams} mt on mt.id = m.team_id and mt.archived_at is null
        where m.user_id = ${users.id}), '[]'::json)`,
    })
    .from(apiTokens)
    .innerJoin(teams, and(eq(teams.id, apiTokens.teamId), isNull(teams.archivedAt)))
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hash));
  if (!row) throw new AppError("unauthenticated", "The API token is not valid.");
  if (row.revokedAt) throw new AppError("unauthenticated", "The API token was revoked. Create a new one under Settings → API tokens.");
  if (row.expiresAt <= now) throw new AppError("unauthenticated", "The API token has expired. Create a new one under Settings → API tokens.");
  if (row.deactivatedAt) throw new AppError("unauthenticated", "The API token's user account has been deactivated.");
  const user = {
    userId: row.userId, email: row.email, name: row.name, isAdmin: row.isAdmin,
    memberships: typeof row.memberships === "string" ? (JSON.parse(row.memberships) as ActorMembership[]) : row.memberships,
  };
  // A removed member's token stops working at once (admins keep their platform-wide rights).
  if (!user.isAdmin && !user.memberships.some((m) => m.teamId === row.teamId)) {
    throw new AppError("unauthenticated", `The API token's user is no longer a member of team ${row.teamSlug}.`);
  }
  await touchToken(db, row.id, row.lastUsedAt, now);
  const actor: TokenActor = { ...user, kind: "token", tokenId: row.id, tokenTeamId: row.teamId, tokenTeamSlug: row.teamSlug };
  remember(hash, actor, row.expiresAt, generation, now.getTime());
  return actor;
}

/** Records the token's use, at most once a minute (`lastUsedAt` as read with the token). */
export async function touchToken(db: Db, tokenId: string, lastUsedAt: Date | null, now = new Date()): Promise<void> {
  if (lastUsedAt && now.getTime() - lastUsedAt.getTime() <= LAST_USED_RESOLUTION_MS) return;
  await db
    .update(apiTokens)
    .set({ lastUsedAt: now })
    .where(and(eq(apiTokens.id, tokenId), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(now.getTime() - LAST_USED_RESOLUTION_MS)))));
}

/** The hash to look a bearer token up by, or null when it is not shaped like a Cairn token. */
export function tokenLookupHash(token: string): string | null {
  return TOKEN_PATTERN.test(token) ? hashToken(token) : null;
}

/**
 * For statements that check the token where they write: a query yielding one row (token_id, user_id,
 * team_id, is_admin, last_used_at) when the token hashed to `hash` may use `permission` in a team
 * `team_id` right now, and none otherwise. The rules of resolveTokenActor + can(): not revoked, not
 * expired, its team not archived, and its user an admin or a member of the token's team whose role holds
 * `permission`, and not deactivated. Evaluated in the writing statement's snapshot, so a revocation or a removed membership
 * committed before the request starts is honoured by it. `teamId` is the team of the object written to.
 */
export function tokenGrantSql(hash: SQLWrapper, permission: Permission, teamId: SQL): SQL {
  const roles = Object.entries(ROLE_PERMISSIONS).filter(([, p]) => p.has(permission)).map(([role]) => role);
  return sql`
    select t.id as token_id, t.user_id, t.team_id, u.is_admin, t.last_used_at
    from ${apiTokens} t
    join ${teams} tm on tm.id = t.team_id and tm.archived_at is null
    join ${users} u on u.id = t.user_id
    where t.token_hash = ${hash} and t.revoked_at is null and t.expires_at > now() and u.deactivated_at is null
      and (u.is_admin or (t.team_id = ${teamId} and exists (
        select 1 from ${memberships} m where m.user_id = t.user_id and m.team_id = t.team_id
          and m.role in (${sql.join(roles.map((r) => sql.raw(`'${r}'`)), sql`, `)}))))`;
}
