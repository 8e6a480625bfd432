// Resolves `Authorization: Bearer <token>` to the token's user acting in the token's team.
import { and, eq, isNull, lt, or, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apiTokens, memberships, teams, users } from "@/db/schema";
import { AppError } from "../errors";
import { TOKEN_PATTERN, hashToken } from "../tokens/service";
import type { ActorMembership, TokenActor } from "./actor";

const LAST_USED_RESOLUTION_MS = 60_000;

export async function resolveTokenActor(db: Db, token: string): Promise<TokenActor> {
  if (!TOKEN_PATTERN.test(token)) {
    throw new AppError("unauthenticated", "The API token is malformed. Tokens look like cairn_… — create one under Settings → API tokens.");
  }
  const now = new Date();
  // One round trip: the token, its team, its user and the user's memberships (read fresh every request).
  const [row] = await db
    .select({
      id: apiTokens.id, userId: apiTokens.userId, teamId: apiTokens.teamId, teamSlug: teams.slug, expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt, lastUsedAt: apiTokens.lastUsedAt, email: users.email, name: users.name, isAdmin: users.isAdmin,
      memberships: sql<ActorMembership[] | string>`coalesce((
        select json_agg(json_build_object('teamId', m.team_id, 'teamSlug', mt.slug, 'teamName', mt.name, 'role', m.role) order by mt.slug)
        from ${memberships} m join ${teams} mt on mt.id = m.team_id and mt.archived_at is null
        where m.user_id = ${users.id}), '[]'::json)`,
    })
    .from(apiTokens)
    .innerJoin(teams, and(eq(teams.id, apiTokens.teamId), isNull(teams.archivedAt)))
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(eq(apiTokens.tokenHash, hashToken(token)));
  if (!row) throw new AppError("unauthenticated", "The API token is not valid.");
  if (row.revokedAt) throw new AppError("unauthenticated", "The API token was revoked. Create a new one under Settings → API tokens.");
  if (row.expiresAt <= now) throw new AppError("unauthenticated", "The API token has expired. Create a new one under Settings → API tokens.");
  const user = {
    userId: row.userId, email: row.email, name: row.name, isAdmin: row.isAdmin,
    memberships: typeof row.memberships === "string" ? (JSON.parse(row.memberships) as ActorMembership[]) : row.memberships,
  };
  // A removed member's token stops working at once (admins keep their platform-wide rights).
  if (!user.isAdmin && !user.memberships.some((m) => m.teamId === row.teamId)) {
    throw new AppError("unauthenticated", `The API token's user is no longer a member of team ${row.teamSlug}.`);
  }
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await db
      .update(apiTokens)
      .set({ lastUsedAt: now })
      .where(and(eq(apiTokens.id, row.id), or(isNull(apiTokens.lastUsedAt), lt(apiTokens.lastUsedAt, new Date(now.getTime() - LAST_USED_RESOLUTION_MS)))));
  }
  return { ...user, kind: "token", tokenId: row.id, tokenTeamId: row.teamId, tokenTeamSlug: row.teamSlug };
}
