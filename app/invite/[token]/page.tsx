import type { Metadata } from "next";
import Link from "next/link";
import { AcceptInvitationForm, JoinTeamButton } from "@/components/teams/accept-invitation";
import { Logo } from "@/components/shell/logo";
import { buttonClass } from "@/components/ui/button";
import { ROLE_LABELS } from "@/lib/nav";
import { formatDateTime } from "@/lib/format";
import { getReadyDb } from "@/server/bootstrap";
import { getPageActor } from "@/server/auth/session";
import { env } from "@/server/env";
import { viewInvitation } from "@/server/teams/invitations";
import { acceptInvitationAction, joinInvitationAction } from "./actions";

export const metadata: Metadata = { title: "Invitation", referrer: "no-referrer" };

// Public: the token in the path is the only credential. Shows the team and role, then lets the invitee set a
// password (or sign in with single sign-on as the invited email) and join.
export default async function InvitePage(props: { params: Promise<{ token: string }> }) {
  const { token } = await props.params;
  const [invitation, actor] = await Promise.all([viewInvitation(await getReadyDb(), token), getPageActor()]);
  const role = invitation ? ROLE_LABELS[invitation.role] ?? invitation.role : "";
  const signInHere = `/login?${new URLSearchParams({ callbackUrl: `/invite/${token}` })}`;
  return (
    <main className="flex min-h-screen items-center justify-center bg-gradient-to-b from-teal-50 to-stone-50 px-4 py-12">
      <div className="w-full max-w-md rounded-xl border border-stone-200 bg-white p-8 shadow-sm">
        <Logo className="text-stone-900" />
        {!invitation ? (
          <>
            <h1 className="mt-6 text-xl font-semibold text-stone-900">This invitation link is not valid</h1>
            <p className="mt-2 text-sm text-stone-600">Check that the whole link was copied, or ask the person who invited you for a new one.</p>
          </>
        ) : (
          <>
            <h1 className="mt-6 text-xl font-semibold text-stone-900">Join {invitation.team.name} on Cairn</h1>
            <p className="mt-1 text-sm text-stone-600">
              {invitation.invited_by} invited <span className="font-mono">{invitation.email}</span> to team{" "}
              <span className="font-mono">{invitation.team.slug}</span> as <strong>{role}</strong>.
            </p>
            {invitation.state === "accepted" && <Ended title="This invitation was already used." body={`Sign in as ${invitation.email}.`} link={{ href: "/login", label: "Sign in" }} />}
            {invitation.state === "revoked" && <Ended title="This invitation was revoked." body={`Ask ${invitation.invited_by} for a new one.`} />}
            {invitation.state === "expired" && <Ended title={`This invitation expired on ${formatDateTime(invitation.expires_at)}.`} body={`Ask ${invitation.invited_by} for a new one.`} />}
            {invitation.state === "pending" && !invitation.account_exists && !actor && (
              <AcceptInvitationForm token={token} email={invitation.email} oidcName={env().oidc?.name} accept={acceptInvitationAction} />
            )}
            {invitation.state === "pending" && actor && actor.email === invitation.email && (
              <JoinTeamButton token={token} team={invitation.team.slug} join={joinInvitationAction} />
            )}
            {invitation.state === "pending" && actor && actor.email !== invitation.email && (
              <Ended title={`You are signed in as ${actor.email}.`} body={`This invitation is for ${invitation.email}: sign out, then open this link again.`} />
            )}
            {invitation.state === "pending" && invitation.account_exists && !actor && (
              <Ended title={`An account for ${invitation.email} exists already.`} body="Sign in with it to accept the invitation." link={{ href: signInHere, label: "Sign in to accept" }} />
            )}
            {invitation.state === "pending" && <p className="mt-6 text-xs text-stone-500">The link works once and expires {formatDateTime(invitation.expires_at)}.</p>}
          </>
        )}
      </div>
    </main>
  );
}

function Ended({ title, body, link }: { title: string; body: string; link?: { href: string; label: string } }) {
  return (
    <div className="mt-6 space-y-3">
      <div role="alert" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
        <p className="font-medium">{title}</p>
        <p>{body}</p>
      </div>
      {link && <Link href={link.href} className={buttonClass("primary")}>{link.label}</Link>}
    </div>
  );
}
