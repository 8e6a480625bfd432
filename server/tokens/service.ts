// API tokens: minted from a signed-in session, scoped to one team, stored as a SHA-256 hash.
import nodeCrypto, { createHash, randomBytes } from "node:crypto";
import { and, desc, eq, isNull } from "drizzle-orm";
import { UUID } from "@/lib/ids";
import type { DbOrTx } from "@/db/client";
import { apiTokens, memberships, teams } from "@/db/schema";
import type { CreateTokenInput, CreatedTokenDto, TokenDto } from "@/lib/schemas/tokens";
import { appendAudit, denied } from "../audit/record";
import { can } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { findTeamBySlug } from "../teams/lookup";
import { authChanged } from "../auth/token-cache";

export const TOKEN_PATTERN = /^cairn_[A-Za-z0-9_-]{43}$/;
const PREFIX_LENGTH = 14;

// crypto.hash (Node ≥ 20.12) hashes in one call, without a Hash object per token (the gateway hashes one per request);
// the same digest as createHash, which older Node 20 releases use.
const sha256Hex: (text: string) => string = typeof nodeCrypto.hash === "function"
  ? (text) => nodeCrypto.hash("sha256", text, "hex")
  : (text) => createHash("sha256").update(text).digest("hex");

export function hashToken(token: string): string {
  return sha256Hex(token);
}

export async function createToken(ctx: Ctx, input: CreateTokenInput): Promise<CreatedTokenDto> {
  const { actor } = ctx;
  if (actor.kind !== "user") {
    throw await denied(ctx, { action: "token.create", target: "token", mode: "write", message: "API tokens are created from a signed-in browser session, not with another token." });
  }
  const team = await findTeamBySlug(ctx.db, input.team);
  if (!team || !can(actor, "read_data", team.id)) {
    throw await denied(ctx, {
      action: "token.create", target: `team:${input.team}`, teamId: team?.id, team: input.team, mode: "read",
      message: `Team "${input.team}" was not found among your teams; a token can only act in a team you belong to.`,
    });
  }
  const token = `cairn_${randomBytes(32).toString("base64url")}`;
  const prefix = token.slice(0, PREFIX_LENGTH);
  const expiresAt = new Date(Date.now() + input.expires_in_days * 86_400_000);
  const row = await ctx.db.transaction(async (tx) => {
    // The membership may have been removed since the actor was loaded: hold it (a removal waits, then revokes
    // this token too) or refuse, so a token minted during a removal cannot come back with a re-add.
    if (!can(actor, "manage_platform")) {
      const [member] = await tx.select({ userId: memberships.userId }).from(memberships)
        .where(and(eq(memberships.userId, actor.userId), eq(memberships.teamId, team.id))).for("share");
      if (!member) throw new AppError("not_found", `Team "${input.team}" was not found among your teams; a token can only act in a team you belong to.`);
    }
    const [created] = await tx
      .insert(apiTokens)
      .values({ userId: actor.userId, teamId: team.id, name: input.name, prefix, tokenHash: hashToken(token), expiresAt })
      .returning({ id: apiTokens.id });
    if (!created) throw new Error("token insert returned nothing");
    await appendAudit(tx, ctx, {
      action: "token.create", target: `token:${created.id}`, teamId: team.id, team: team.slug,
      details: { name: input.name, prefix, expires_at: expiresAt.toISOString() },
    });
    return created;
  });
  return { id: row.id, token, prefix, team: team.slug, name: input.name, expires_at: expiresAt.toISOString() };
}

/** The actor's own tokens (a token actor sees only its team's). */
export async function listTokens(ctx: Ctx): Promise<TokenDto[]> {
  const { actor } = ctx;
  if (actor.kind !== "user" && actor.kind !== "token") return [];
  const scope = actor.kind === "token"
    ? and(eq(apiTokens.userId, actor.userId), eq(apiTokens.teamId, actor.tokenTeamId))
    : eq(apiTokens.userId, actor.userId);
  const rows = await ctx.db
    .select({
      id: apiTokens.id, name: apiTokens.name, prefix: apiTokens.prefix, team: teams.slug, createdAt: apiTokens.createdAt,
      expiresAt: apiTokens.expiresAt, lastUsedAt: apiTokens.lastUsedAt, revokedAt: apiTokens.revokedAt,
    })
    .from(apiTokens)
    .innerJoin(teams, eq(teams.id, apiTokens.teamId))
    .where(scope)
    .orderBy(desc(apiTokens.createdAt));
  return rows.map((r) => ({
    id: r.id, name: r.name, prefix: r.prefix, team: r.team,
    created_at: r.createdAt.toISOString(), expires_at: r.expiresAt.toISOString(),
    last_used_at: r.lastUsedAt?.toISOString() ?? null, revoked_at: r.revokedAt?.toISOString() ?? null,
  }));
}

/** Revokes one of the actor's tokens; admins may revoke anyone's. Someone else's token is "not found". */
export async function revokeToken(ctx: Ctx, id: string): Promise<void> {
  const { actor } = ctx;
  const isUuid = UUID.test(id);
  const [token] = isUuid
    ? await ctx.db
        .select({ id: apiTokens.id, userId: apiTokens.userId, teamId: apiTokens.teamId, revokedAt: apiTokens.revokedAt, team: teams.slug })
        .from(apiTokens)
        .innerJoin(teams, eq(teams.id, apiTokens.teamId))
        .where(eq(apiTokens.id, id))
    : [];
  const owns = token && (actor.isAdmin || (
    (actor.kind === "user" || actor.kind === "token") && token.userId === actor.userId &&
    (actor.kind !== "token" || actor.tokenTeamId === token.teamId)
  ));
  if (!token || !owns) {
    throw await denied(ctx, { action: "token.revoke", target: `token:${id}`, teamId: token?.teamId, team: token?.team, mode: "read", message: `Token ${id} was not found.` });
  }
  if (token.revokedAt) return;
  await ctx.db.transaction(async (tx) => {
    await tx.update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.id, id));
    await appendAudit(tx, ctx, { action: "token.revoke", target: `token:${id}`, teamId: token.teamId, team: token.team });
  });
  authChanged();
}

/**
 * A job's own token: acts as the submitting user in the job's team, expires with the job's deadline
 * (plus a margin), and is revoked when the job ends. Minted inside the caller's transaction.
 */
export async function mintJobToken(tx: DbOrTx, input: { userId: string; teamId: string; jobId: string; ttlSeconds: number }): Promise<{ id: string; token: string }> {
  const token = `cairn_${randomBytes(32).toString("base64url")}`;
  const [row] = await tx
    .insert(apiTokens)
    .values({
      userId: input.userId, teamId: input.teamId, name: `job ${input.jobId}`, prefix: token.slice(0, PREFIX_LENGTH), tokenHash: hashToken(token),
      expiresAt: new Date(Date.now() + input.ttlSeconds * 1000),
    })
    .returning({ id: apiTokens.id });
  return { id: row!.id, token };
}

export async function revokeTokenById(db: DbOrTx, id: string): Promise<void> {
  await db.update(apiTokens).set({ revokedAt: new Date() }).where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)));
}
