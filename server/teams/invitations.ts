// Invitations: adding an email without a Cairn account creates a pending invitation with a one-time link
// (a random token, kept only as its SHA-256 hash, valid 7 days). The invitee opens the link, sets a name and
// password, and the account and membership are created — once: the invitation row is locked while it is
// accepted, so a second use (even a simultaneous one) is told the link was already used. With single sign-on
// the invitee signs in as the invited email and accepts from the same page.
import { createHash, randomBytes } from "node:crypto";
import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import { invitations, memberships, teams, users } from "@/db/schema";
import type { Role } from "@/db/schema";
import type { AcceptInvitationInput, InvitationCreatedDto, InvitationDto, InvitationViewDto } from "@/lib/schemas/invitations";
import { INVITE_TOKEN } from "@/lib/schemas/invitations";
import type { TeamMemberDto } from "@/lib/schemas/teams";
import { appendAudit } from "../audit/record";
import type { UserActor } from "../auth/actor";
import { can } from "../auth/policy";
import { hashPassword } from "../auth/passwords";
import type { Ctx, RequestInfo } from "../context";
import type { Db, DbOrTx } from "@/db/client";
import { AppError } from "../errors";
import { addMember, teamFor } from "./admin";

export const INVITATION_TTL_DAYS = 7;

const hashInviteToken = (token: string) => createHash("sha256").update(token).digest("hex");
const invitePath = (token: string) => `/invite/${token}`;

type InvitationRow = typeof invitations.$inferSelect;

function invitationDto(row: InvitationRow, now = new Date()): InvitationDto {
  return {
    id: row.id, email: row.email, role: row.role, invited_by: row.invitedByEmail,
    created_at: row.createdAt.toISOString(), expires_at: row.expiresAt.toISOString(), expired: row.expiresAt <= now,
  };
}

/** Pending means neither accepted nor revoked; an expired one stays listed (as expired) until revoked. */
const isOpen = and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt));

/** Invites an email that has no account yet to the team with a role; the link is returned once. */
export async function createInvitation(ctx: Ctx, slug: string, input: { email: string; role: Role }, opts: { existingUnverified?: boolean } = {}): Promise<InvitationCreatedDto> {
  const team = await teamFor(ctx, slug, "manage_team", "invitation.create");
  const email = input.email.trim().toLowerCase();
  const token = randomBytes(32).toString("base64url");
  const row = await ctx.db.transaction(async (tx) => {
    const [account] = await tx.select({ id: users.id, emailVerified: users.emailVerified }).from(users).where(eq(users.email, email));
    if (account && !(opts.existingUnverified && !account.emailVerified)) throw new AppError("conflict", `${email} already has a Cairn account; add them as a member instead.`, { fields: { email: ["Already has an account: add them as a member"] } });
    const [pending] = await tx
      .select({ expiresAt: invitations.expiresAt })
      .from(invitations)
      .where(and(eq(invitations.teamId, team.id), eq(invitations.email, email), isOpen, gt(invitations.expiresAt, sql`now()`)));
    if (pending) {
      throw new AppError("conflict", `${email} already has a pending invitation to ${slug} (it expires ${pending.expiresAt.toISOString().slice(0, 10)}). Revoke it to send a new link.`, {
        fields: { email: ["Already invited: revoke the pending invitation to send a new link"] },
      });
    }
    const [created] = await tx
      .insert(invitations)
      .values({
        teamId: team.id, email, role: input.role, tokenHash: hashInviteToken(token), invitedBy: ctx.actor.userId, invitedByEmail: ctx.actor.email,
        expiresAt: sql`now() + make_interval(days => ${INVITATION_TTL_DAYS})`,
      })
      .returning();
    await appendAudit(tx, ctx, {
      action: "invitation.create", target: `user:${email}`, teamId: team.id, team: slug,
      details: { invitation: created!.id, role: input.role, expires_at: created!.expiresAt.toISOString() },
    });
    return created!;
  });
  return { invitation: invitationDto(row), invite_path: invitePath(token) };
}

export type AddOrInviteResult = { kind: "member"; member: TeamMemberDto } | ({ kind: "invitation" } & InvitationCreatedDto);

/** Adds the account with that email, or — when there is none — invites the email (what the UI and REST API call). */
export async function addOrInviteMember(ctx: Ctx, slug: string, input: { email: string; role: Role }): Promise<AddOrInviteResult> {
  const email = input.email.trim().toLowerCase();
  // Authorize before looking the email up, so a refused caller learns nothing about which accounts exist.
  await teamFor(ctx, slug, "manage_team", "member.add");
  const [account] = await ctx.db.select({ id: users.id, emailVerified: users.emailVerified }).from(users).where(eq(users.email, email));
  // An account made from another team's invitation never proved it owns the email: whoever holds it would be
  // added here silently. Invite instead — the link goes to the person, who accepts signed in as that account.
  if (account && account.emailVerified) return { kind: "member", member: await addMember(ctx, slug, { email, role: input.role }) };
  return { kind: "invitation", ...(await createInvitation(ctx, slug, { email, role: input.role }, { existingUnverified: true })) };
}

/** The team's open invitations (for those who manage its members; others get []). */
export async function listInvitations(ctx: Ctx, slug: string): Promise<InvitationDto[]> {
  const team = await teamFor(ctx, slug, "read_data", "team.read");
  if (!can(ctx.actor, "manage_team", team.id)) return [];
  const rows = await ctx.db.select().from(invitations).where(and(eq(invitations.teamId, team.id), isOpen)).orderBy(asc(invitations.email));
  const now = new Date();
  return rows.map((r) => invitationDto(r, now));
}

/** Revokes an open invitation of the team: its link stops working at once. */
export async function revokeInvitation(ctx: Ctx, slug: string, id: string): Promise<void> {
  const team = await teamFor(ctx, slug, "manage_team", "invitation.revoke");
  await ctx.db.transaction(async (tx) => {
    const [row] = /^[0-9a-f-]{36}$/i.test(id)
      ? await tx.select().from(invitations).where(and(eq(invitations.id, id), eq(invitations.teamId, team.id))).for("update")
      : [];
    if (!row) throw new AppError("not_found", `No invitation ${id} in team ${slug}.`);
    if (row.acceptedAt) throw new AppError("conflict", `${row.email} already accepted this invitation; remove the member instead.`);
    if (row.revokedAt) throw new AppError("conflict", `The invitation for ${row.email} was already revoked.`);
    await tx.update(invitations).set({ revokedAt: new Date() }).where(eq(invitations.id, row.id));
    await appendAudit(tx, ctx, { action: "invitation.revoke", target: `user:${row.email}`, teamId: team.id, team: slug, details: { invitation: row.id, role: row.role } });
  });
}

type Found = { row: InvitationRow; team: { id: string; slug: string; name: string } };

async function findByToken(db: DbOrTx, token: string, lock: boolean): Promise<Found | undefined> {
  if (!INVITE_TOKEN.test(token)) return undefined;
  const query = db
    .select({ row: invitations, team: { id: teams.id, slug: teams.slug, name: teams.name } })
    .from(invitations)
    .innerJoin(teams, and(eq(teams.id, invitations.teamId), isNull(teams.archivedAt)))
    .where(eq(invitations.tokenHash, hashInviteToken(token)));
  const [found] = lock ? await query.for("update", { of: invitations }) : await query;
  return found;
}

function stateOf(row: InvitationRow, now = new Date()): InvitationViewDto["state"] {
  return row.acceptedAt ? "accepted" : row.revokedAt ? "revoked" : row.expiresAt <= now ? "expired" : "pending";
}

/** What the public invite page shows about a link (null: no such link). Needs no actor: the token is the key. */
export async function viewInvitation(db: Db, token: string): Promise<InvitationViewDto | null> {
  const found = await findByToken(db, token, false);
  if (!found) return null;
  const { row, team } = found;
  const [account] = await db.select({ id: users.id }).from(users).where(eq(users.email, row.email));
  return {
    team: { slug: team.slug, name: team.name }, email: row.email, role: row.role, invited_by: row.invitedByEmail,
    expires_at: row.expiresAt.toISOString(), state: stateOf(row), account_exists: !!account,
  };
}

/** Why a link cannot be used any more, in words the invitee can act on. */
function refuse(found: Found | undefined): never {
  if (!found) throw new AppError("not_found", "This invitation link is not valid. Check that it was copied whole, or ask for a new one.");
  const { row } = found;
  switch (stateOf(row)) {
    case "accepted": throw new AppError("conflict", `This invitation was already used. Sign in as ${row.email}.`);
    case "revoked": throw new AppError("conflict", `This invitation was revoked. Ask ${row.invitedByEmail} for a new one.`);
    case "expired": throw new AppError("conflict", `This invitation expired on ${row.expiresAt.toISOString().slice(0, 10)}. Ask ${row.invitedByEmail} for a new one.`);
    default: throw new Error("refuse() called on a pending invitation");
  }
}

async function join(tx: DbOrTx, request: RequestInfo, found: Found, user: { id: string; email: string; name: string; isAdmin: boolean }, newAccount: boolean): Promise<void> {
  const { row, team } = found;
  const [already] = await tx.select({ role: memberships.role }).from(memberships).where(and(eq(memberships.teamId, team.id), eq(memberships.userId, user.id)));
  if (!already) await tx.insert(memberships).values({ teamId: team.id, userId: user.id, role: row.role });
  await tx.update(invitations).set({ acceptedAt: new Date(), acceptedUserId: user.id }).where(eq(invitations.id, row.id));
  const actor: UserActor = { kind: "user", userId: user.id, email: user.email, name: user.name, isAdmin: user.isAdmin, memberships: [] };
  await appendAudit(tx, { actor, request }, {
    action: "invitation.accept", target: `user:${user.email}`, teamId: team.id, team: team.slug,
    details: { invitation: row.id, role: already?.role ?? row.role, invited_by: row.invitedByEmail, new_account: newAccount, ...(already ? { already_member: true } : {}) },
  });
}

/**
 * Accepts a pending invitation for an email without an account: creates the user with the chosen name and
 * password, and the membership. Exactly once: a second use answers that the link was already used.
 */
export async function acceptInvitation(db: Db, request: RequestInfo, input: AcceptInvitationInput): Promise<{ email: string; team: string }> {
  // A link that cannot be used is refused before any hashing: a stranger posting made-up tokens costs one lookup.
  const seen = await findByToken(db, input.token, false);
  if (!seen || stateOf(seen.row) !== "pending") refuse(seen);
  // Hashed before the transaction: scrypt takes a while and the invitation's row stays locked meanwhile otherwise.
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const found = await findByToken(tx, input.token, true);
    if (!found || stateOf(found.row) !== "pending") refuse(found);
    const { row } = found;
    const [account] = await tx.select({ id: users.id }).from(users).where(eq(users.email, row.email));
    if (account) throw new AppError("conflict", `An account for ${row.email} exists already. Sign in as ${row.email}, then open this link again to join ${found.team.slug}.`);
    const [user] = await tx.insert(users).values({ email: row.email, name: input.name, passwordHash, emailVerified: false }).returning({ id: users.id, email: users.email, name: users.name, isAdmin: users.isAdmin });
    await join(tx, request, found, user!, true);
    return { email: row.email, team: found.team.slug };
  });
}

/** Accepts an invitation as the signed-in user (single sign-on, or an account made since): their email must be the invited one. */
export async function acceptInvitationAsUser(ctx: Ctx, token: string): Promise<{ email: string; team: string }> {
  const { actor } = ctx;
  if (actor.kind !== "user") throw new AppError("unauthenticated", "Sign in to accept this invitation.");
  return ctx.db.transaction(async (tx) => {
    const found = await findByToken(tx, token, true);
    if (!found || stateOf(found.row) !== "pending") refuse(found);
    if (found.row.email !== actor.email.toLowerCase()) {
      throw new AppError("forbidden", `This invitation is for ${found.row.email}; you are signed in as ${actor.email}. Sign out and sign in as ${found.row.email} to accept it.`);
    }
    await join(tx, ctx.request, found, { id: actor.userId, email: actor.email, name: actor.name, isAdmin: actor.isAdmin }, false);
    return { email: actor.email, team: found.team.slug };
  });
}
