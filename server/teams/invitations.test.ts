// Invitations: an email without an account is invited with a one-time link; accepting creates the user and
// the membership exactly once; expired and revoked links say so; only those who manage the team's members
// invite and revoke (another team's lead 404, a data scientist 403), all audited.
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, invitations, memberships, teams, users } from "@/db/schema";
import { signInWithPassword } from "../auth/login";
import { provisionOidcUser } from "../auth/oidc";
import { loadUserActor } from "../auth/load-actor";
import { newRequestId } from "../context";
import { ctxFor, DEMO, demoDatabase } from "../testing/fixtures";
import { getTeam } from "./service";
import { acceptInvitation, acceptInvitationAsUser, addOrInviteMember, createInvitation, listInvitations, revokeInvitation, viewInvitation } from "./invitations";
import { flushDenials } from "../audit/denials";

const db = demoDatabase();
const request = () => ({ id: newRequestId(), ip: "127.0.0.1" });
const tokenOf = (path: string) => path.replace("/invite/", "");
const LIMITS = { maxFailures: 5, windowSeconds: 60, sleep: async () => undefined };
let n = 0;
const newEmail = () => `invitee-${Date.now().toString(36)}-${n++}@example.com`;

async function auditActions(email: string): Promise<string[]> {
  await flushDenials(db());
  const rows = await db().select({ action: auditEvents.action }).from(auditEvents)
    .where(and(eq(auditEvents.target, `user:${email}`), eq(auditEvents.outcome, "allowed"), inArray(auditEvents.action, ["invitation.create", "invitation.accept", "invitation.revoke"])))
    .orderBy(auditEvents.id);
  return rows.map((r) => r.action);
}

describe("invitations", () => {
  it("a team lead invites an unknown email; the link sets a password once, creates the user and membership, and signs in", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    const email = newEmail();
    const result = await addOrInviteMember(lead, "churn", { email: email.toUpperCase(), role: "ml_engineer" });
    expect(result.kind).toBe("invitation");
    if (result.kind !== "invitation") return;
    expect(result.invitation).toMatchObject({ email, role: "ml_engineer", invited_by: DEMO.lead, expired: false });
    expect(result.invite_path).toMatch(/^\/invite\/[A-Za-z0-9_-]{43}$/);
    // About 7 days.
    const days = (new Date(result.invitation.expires_at).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.9);
    expect(days).toBeLessThanOrEqual(7);
    // Nothing created yet; the token is stored only hashed.
    expect(await db().select().from(users).where(eq(users.email, email))).toEqual([]);
    const token = tokenOf(result.invite_path);
    const [row] = await db().select().from(invitations).where(eq(invitations.email, email));
    expect(row!.tokenHash).not.toContain(token);
    expect(JSON.stringify(row)).not.toContain(token);
    // Shown as pending to those who manage members.
    expect((await listInvitations(lead, "churn")).map((i) => i.email)).toContain(email);
    expect(await listInvitations(await ctxFor(db(), DEMO.ds), "churn")).toEqual([]);

    expect(await viewInvitation(db(), token)).toMatchObject({ team: { slug: "churn" }, email, role: "ml_engineer", invited_by: DEMO.lead, state: "pending", account_exists: false });
    expect(await acceptInvitation(db(), request(), { token, name: "New Person", password: "a-long-password" })).toEqual({ email, team: "churn" });

    const [user] = await db().select({ id: users.id, name: users.name }).from(users).where(eq(users.email, email));
    expect(user!.name).toBe("New Person");
    const actor = await loadUserActor(db(), user!.id);
    expect(actor!.memberships.map((m) => [m.teamSlug, m.role])).toEqual([["churn", "ml_engineer"]]);
    expect(await signInWithPassword(db(), { email, password: "a-long-password" }, request(), LIMITS)).toBe(user!.id);

    // Once: the link now says it was used, and nothing more is created.
    await expect(acceptInvitation(db(), request(), { token, name: "Again", password: "another-password" }))
      .rejects.toMatchObject({ code: "conflict", message: expect.stringContaining("already used") });
    expect(await db().select().from(users).where(eq(users.email, email))).toHaveLength(1);
    expect((await viewInvitation(db(), token))!.state).toBe("accepted");
    expect((await listInvitations(lead, "churn")).map((i) => i.email)).not.toContain(email);
    expect(await auditActions(email)).toEqual(["invitation.create", "invitation.accept"]);
  });

  it("two simultaneous uses of one link create one user and one membership", async () => {
    const email = newEmail();
    const { invite_path } = await createInvitation(await ctxFor(db(), DEMO.lead), "churn", { email, role: "data_scientist" });
    const token = tokenOf(invite_path);
    const results = await Promise.allSettled([
      acceptInvitation(db(), request(), { token, name: "One", password: "first-password" }),
      acceptInvitation(db(), request(), { token, name: "Two", password: "second-password" }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(results.filter((r) => r.status === "rejected").map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(["conflict"]);
    const created = await db().select({ id: users.id }).from(users).where(eq(users.email, email));
    expect(created).toHaveLength(1);
    expect(await db().select().from(memberships).where(eq(memberships.userId, created[0]!.id))).toHaveLength(1);
  });

  it("an expired link says so and creates nothing", async () => {
    const email = newEmail();
    const { invite_path } = await createInvitation(await ctxFor(db(), DEMO.lead), "churn", { email, role: "data_scientist" });
    await db().update(invitations).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(invitations.email, email));
    const token = tokenOf(invite_path);
    expect((await viewInvitation(db(), token))!.state).toBe("expired");
    await expect(acceptInvitation(db(), request(), { token, name: "Late", password: "a-long-password" }))
      .rejects.toMatchObject({ code: "conflict", message: expect.stringMatching(/expired on .* Ask lead@example.com for a new one/) });
    expect(await db().select().from(users).where(eq(users.email, email))).toEqual([]);
    // Listed as expired, and a new invitation may be sent.
    expect((await listInvitations(await ctxFor(db(), DEMO.lead), "churn")).find((i) => i.email === email)).toMatchObject({ expired: true });
    await expect(createInvitation(await ctxFor(db(), DEMO.lead), "churn", { email, role: "data_scientist" })).resolves.toMatchObject({ invitation: { email } });
  });

  it("a revoked link stops working; a second pending invitation for the same email is refused until revoked", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    const email = newEmail();
    const first = await createInvitation(lead, "churn", { email, role: "data_scientist" });
    await expect(createInvitation(lead, "churn", { email, role: "team_lead" })).rejects.toMatchObject({ code: "conflict", message: expect.stringContaining("pending invitation") });
    await revokeInvitation(lead, "churn", first.invitation.id);
    await expect(revokeInvitation(lead, "churn", first.invitation.id)).rejects.toMatchObject({ code: "conflict" });
    await expect(acceptInvitation(db(), request(), { token: tokenOf(first.invite_path), name: "X", password: "a-long-password" }))
      .rejects.toMatchObject({ code: "conflict", message: expect.stringContaining("revoked") });
    expect(await db().select().from(users).where(eq(users.email, email))).toEqual([]);
    expect(await auditActions(email)).toEqual(["invitation.create", "invitation.revoke"]);
    // A new link works.
    const second = await createInvitation(lead, "churn", { email, role: "data_scientist" });
    await expect(acceptInvitation(db(), request(), { token: tokenOf(second.invite_path), name: "X", password: "a-long-password" })).resolves.toMatchObject({ email });
  });

  it("refuses a data scientist (403), another team's lead (404) and a foreign team's actor revoking — nothing written", async () => {
    const email = newEmail();
    await expect(addOrInviteMember(await ctxFor(db(), DEMO.ds), "churn", { email, role: "team_lead" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(createInvitation(await ctxFor(db(), DEMO.ds), "churn", { email, role: "team_lead" })).rejects.toMatchObject({ code: "forbidden" });
    await expect(addOrInviteMember(await ctxFor(db(), DEMO.leadFraud), "churn", { email, role: "team_lead" })).rejects.toMatchObject({ code: "not_found" });
    await expect(createInvitation(await ctxFor(db(), DEMO.leadFraud), "churn", { email, role: "team_lead" })).rejects.toMatchObject({ code: "not_found" });
    await expect(listInvitations(await ctxFor(db(), DEMO.leadFraud), "churn")).rejects.toMatchObject({ code: "not_found" });
    expect(await db().select().from(invitations).where(eq(invitations.email, email))).toEqual([]);

    const pending = await createInvitation(await ctxFor(db(), DEMO.lead), "churn", { email, role: "data_scientist" });
    await expect(revokeInvitation(await ctxFor(db(), DEMO.leadFraud), "churn", pending.invitation.id)).rejects.toMatchObject({ code: "not_found" });
    // Another team's lead naming their own team cannot reach churn's invitation either.
    await expect(revokeInvitation(await ctxFor(db(), DEMO.leadFraud), "fraud", pending.invitation.id)).rejects.toMatchObject({ code: "not_found" });
    await expect(revokeInvitation(await ctxFor(db(), DEMO.ds), "churn", pending.invitation.id)).rejects.toMatchObject({ code: "forbidden" });
    const [row] = await db().select({ revokedAt: invitations.revokedAt }).from(invitations).where(eq(invitations.id, pending.invitation.id));
    expect(row!.revokedAt).toBeNull();
    await flushDenials(db());
    const refusals = await db().select({ action: auditEvents.action }).from(auditEvents)
      .where(and(eq(auditEvents.outcome, "denied"), eq(auditEvents.actor, DEMO.ds), eq(auditEvents.action, "invitation.revoke")));
    expect(refusals).toHaveLength(1);
  });

  it("an existing account is added at once, not invited; an invited email that got an account meanwhile signs in to accept", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    const added = await addOrInviteMember(lead, "churn", { email: DEMO.dsFraud, role: "data_scientist" });
    expect(added).toMatchObject({ kind: "member", member: { email: DEMO.dsFraud } });
    await expect(createInvitation(lead, "churn", { email: DEMO.admin, role: "data_scientist" })).rejects.toMatchObject({ code: "conflict" });

    // Invited to two teams; the first acceptance creates the account, the second needs it signed in.
    const email = newEmail();
    const churn = await createInvitation(lead, "churn", { email, role: "data_scientist" });
    const fraud = await createInvitation(await ctxFor(db(), DEMO.leadFraud), "fraud", { email, role: "ml_engineer" });
    await acceptInvitation(db(), request(), { token: tokenOf(churn.invite_path), name: "Two Teams", password: "a-long-password" });
    expect((await viewInvitation(db(), tokenOf(fraud.invite_path)))!.account_exists).toBe(true);
    await expect(acceptInvitation(db(), request(), { token: tokenOf(fraud.invite_path), name: "Two Teams", password: "a-long-password" }))
      .rejects.toMatchObject({ code: "conflict", message: expect.stringContaining(`Sign in as ${email}`) });
    // Someone else signed in cannot take it.
    await expect(acceptInvitationAsUser(await ctxFor(db(), DEMO.ds), tokenOf(fraud.invite_path))).rejects.toMatchObject({ code: "forbidden" });
    await expect(acceptInvitationAsUser(await ctxFor(db(), email), tokenOf(fraud.invite_path))).resolves.toEqual({ email, team: "fraud" });
    expect((await getTeam(await ctxFor(db(), email), "fraud")).members.find((m) => m.email === email)).toMatchObject({ role: "ml_engineer" });
    await expect(acceptInvitationAsUser(await ctxFor(db(), email), tokenOf(fraud.invite_path))).rejects.toMatchObject({ code: "conflict" });
  });

  it("a malformed or unknown link, or one of an archived team, is not valid", async () => {
    expect(await viewInvitation(db(), "nope")).toBeNull();
    expect(await viewInvitation(db(), "a".repeat(43))).toBeNull();
    await expect(acceptInvitation(db(), request(), { token: "a".repeat(43), name: "X", password: "a-long-password" })).rejects.toMatchObject({ code: "not_found" });
    const email = newEmail();
    const admin = await ctxFor(db(), DEMO.admin);
    const { createTeam } = await import("./service");
    await createTeam(admin, { slug: "inv-archived", name: "Archived soon" });
    const { invite_path } = await createInvitation(admin, "inv-archived", { email, role: "data_scientist" });
    await db().update(teams).set({ archivedAt: new Date() }).where(eq(teams.slug, "inv-archived"));
    expect(await viewInvitation(db(), tokenOf(invite_path))).toBeNull();
    await expect(acceptInvitation(db(), request(), { token: tokenOf(invite_path), name: "X", password: "a-long-password" })).rejects.toMatchObject({ code: "not_found" });
  });

  it("an account made from one team's invitation is invited, not added, to another team; single sign-on with that email takes it over", async () => {
    // A fraud lead invites an email and accepts the link themselves: they now hold an account with that email.
    const email = newEmail();
    const invited = await addOrInviteMember(await ctxFor(db(), DEMO.leadFraud), "fraud", { email, role: "data_scientist" });
    if (invited.kind !== "invitation") throw new Error("expected an invitation");
    await acceptInvitation(db(), request(), { token: tokenOf(invited.invite_path), name: "Not The Hire", password: "attacker-pass-123" });
    const [account] = await db().select().from(users).where(eq(users.email, email));
    expect(account!.emailVerified).toBe(false);
    // Churn's lead adds that email: an invitation (the link goes to the person), not a membership of the holder.
    const added = await addOrInviteMember(await ctxFor(db(), DEMO.lead), "churn", { email, role: "ml_engineer" });
    expect(added.kind).toBe("invitation");
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    expect(await db().select().from(memberships).where(and(eq(memberships.userId, account!.id), eq(memberships.teamId, churn!.id)))).toEqual([]);
    // The real owner signs in with single sign-on (the provider verified the email): the account is theirs now.
    const sessionsBefore = await signInWithPassword(db(), { email, password: "attacker-pass-123" }, request(), LIMITS);
    expect(sessionsBefore).toBe(account!.id);
    await provisionOidcUser(db(), { subject: `sub-${email}`, email, name: "The Hire", emailVerified: true });
    const [after] = await db().select().from(users).where(eq(users.email, email));
    expect(after).toMatchObject({ emailVerified: true, passwordHash: null, oidcSubject: `sub-${email}` });
    await expect(signInWithPassword(db(), { email, password: "attacker-pass-123" }, request(), LIMITS)).rejects.toMatchObject({ code: "unauthenticated" });
  });
});
