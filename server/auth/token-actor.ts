// Resolves `Authorization: Bearer <token>` to the token's user acting in the token's team.
import { and, eq, isNull, lt, or } from "drizzle-orm";
import type { Db } from "@/db/client";
import { apiTokens, teams } from "@/db/schema";
import { AppError } from "../errors";
import { TOKEN_PATTERN, hashToken } from "../tokens/service";
import type { TokenActor } from "./actor";
import { loadUserActor } from "./load-actor";

const LAST_USED_RESOLUTION_MS = 60_000;

export async function resolveTokenActor(db: Db, token: string): Promise<TokenActor> {
  if (!TOKEN_PATTERN.test(token)) {
    throw new AppError("unauthenticated", "The API token is malformed. Tokens look like cairn_… — create one under Settings → API tokens.");
  }
  const now = new Date();
  const [row] = await db
    .select({ id: apiTokens.id, userId: apiTokens.userId, teamId: apiTokens.teamId, teamSlug: teams.slug, expiresAt: apiTokens.expiresAt, revokedAt: apiTokens.revokedAt, lastUsedAt: apiTokens.lastUsedAt })
    .from(apiTokens)
    .innerJoin(teams, and(eq(teams.id, apiTokens.teamId), isNull(teams.archivedAt)))
    .where(eq(apiTokens.tokenHash, hashToken(token)));
  if (!row) throw new AppError("unauthenticated", "The API token is not valid.");
  if (row.revokedAt) throw new AppError("unauthenticated", "The API token was revoked. Create a new one under Settings → API tokens.");
  if (row.expiresAt <= now) throw new AppError("unauthenticated", "The API token has expired. Create a new one under Settings → API tokens.");
  const user = await loadUserActor(db, row.userId);
  if (!user) throw new AppError("unauthenticated", "The API token's user no longer exists.");
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
