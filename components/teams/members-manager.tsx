"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { formatDateTime } from "@/lib/format";
import type { InvitationDto } from "@/lib/schemas/invitations";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { CopyLink } from "./copy-link";

type Role = "data_scientist" | "ml_engineer" | "team_lead";
const ROLES: [Role, string][] = [["data_scientist", "Data scientist"], ["ml_engineer", "ML engineer"], ["team_lead", "Team lead"]];
const roleLabel = (role: string) => ROLES.find(([v]) => v === role)?.[1] ?? role;

type Member = { user_id: string; email: string; name: string; role: string };
export type AddResult = { kind: "member"; email: string } | { kind: "invitation"; email: string; invite_path: string; expires_at: string };
type Confirming = { kind: "remove" | "revoke"; id: string; email: string };

/**
 * Members of a team with their roles, and its pending invitations; team leads and admins add (or invite),
 * re-role, remove and revoke here. Every change says what happened; removing and revoking ask first.
 */
export function MembersManager({ team, members, invitations, canManage, add, changeRole, remove, revoke }: {
  team: string;
  members: Member[];
  invitations: InvitationDto[];
  canManage: boolean;
  add: (input: { team: string; email: string; role: Role }) => Promise<ActionResult<AddResult>>;
  changeRole: (input: { team: string; user_id: string; role: Role }) => Promise<ActionResult<string>>;
  remove: (input: { team: string; user_id: string }) => Promise<ActionResult<string>>;
  revoke: (input: { team: string; id: string }) => Promise<ActionResult<string>>;
}) {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("data_scientist");
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const [invite, setInvite] = useState<{ email: string; url: string; expires_at: string }>();
  const [confirming, setConfirming] = useState<Confirming>();
  const [pending, startTransition] = useTransition();
  const run = <T,>(call: () => Promise<ActionResult<T>>, after: (data: T) => void) =>
    startTransition(async () => {
      const r = await call();
      if (!r.ok) { setError(r.fieldErrors ? Object.values(r.fieldErrors).flat().join("; ") || r.error : r.error); setNotice(undefined); return; }
      setError(undefined);
      after(r.data);
      router.refresh();
    });
  const cols = canManage ? 5 : 4;
  return (
    <div className="space-y-3">
      <div className="overflow-x-auto rounded-lg border border-stone-200 bg-white">
        <table className="min-w-full text-sm">
          <caption className="sr-only">Members</caption>
          <thead className="bg-stone-50 text-left text-xs font-semibold tracking-wide text-stone-600 uppercase">
            <tr>
              <th className="px-3 py-2">Name</th><th className="px-3 py-2">Email</th><th className="px-3 py-2">Role</th><th className="px-3 py-2">Status</th>
              {canManage && <th className="px-3 py-2"><span className="sr-only">Actions</span></th>}
            </tr>
          </thead>
          <tbody className="divide-y divide-stone-100">
            {members.length === 0 && invitations.length === 0 && <tr><td colSpan={cols} className="px-3 py-6 text-center text-stone-500">No members yet. Add one by email below.</td></tr>}
            {members.map((m) => (
              <tr key={m.user_id}>
                <td className="px-3 py-2 font-medium">{m.name}</td>
                <td className="px-3 py-2 font-mono text-xs break-all">{m.email}</td>
                <td className="px-3 py-2">
                  {canManage ? (
                    <select aria-label={`Role of ${m.email}`} value={m.role} disabled={pending} className="rounded-md border border-stone-300 px-2 py-1 text-sm"
                      onChange={(e) => { const next = e.target.value as Role; run(() => changeRole({ team, user_id: m.user_id, role: next }), () => setNotice(`${m.email} is now ${roleLabel(next)}.`)); }}>
                      {ROLES.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
                    </select>
                  ) : roleLabel(m.role)}
                </td>
                <td className="px-3 py-2"><Badge tone="green">Member</Badge></td>
                {canManage && (
                  <td className="px-3 py-2 text-right">
                    <Button size="sm" variant="ghost" disabled={pending} aria-label={`Remove ${m.email}`} onClick={() => setConfirming({ kind: "remove", id: m.user_id, email: m.email })}>Remove</Button>
                  </td>
                )}
              </tr>
            ))}
            {invitations.map((i) => (
              <tr key={i.id} className="bg-amber-50/40">
                <td className="px-3 py-2 text-stone-500 italic">not signed up yet</td>
                <td className="px-3 py-2 font-mono text-xs break-all">{i.email}</td>
                <td className="px-3 py-2">{roleLabel(i.role)}</td>
                <td className="px-3 py-2 text-xs text-stone-600">
                  {i.expired ? <Badge tone="red">Invitation expired</Badge> : <Badge tone="amber">Invitation pending</Badge>}
                  <div className="mt-0.5">invited by {i.invited_by} · {i.expired ? "expired" : "expires"} {formatDateTime(i.expires_at)}</div>
                </td>
                {canManage && (
                  <td className="px-3 py-2 text-right">
                    <Button size="sm" variant="ghost" disabled={pending} aria-label={`Revoke invitation for ${i.email}`} onClick={() => setConfirming({ kind: "revoke", id: i.id, email: i.email })}>Revoke</Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {confirming && (
        <div role="alertdialog" aria-label={confirming.kind === "remove" ? "Confirm removal" : "Confirm revocation"} className="flex flex-wrap items-center gap-3 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-900">
          <span className="flex-1">
            {confirming.kind === "remove"
              ? `Remove ${confirming.email} from ${team}? Their access and API tokens for this team stop at once.`
              : `Revoke the invitation for ${confirming.email}? Its link stops working at once.`}
          </span>
          <Button size="sm" variant="danger" disabled={pending} onClick={() => {
            const c = confirming;
            setConfirming(undefined);
            if (c.kind === "remove") run(() => remove({ team, user_id: c.id }), () => setNotice(`Removed ${c.email} from ${team}.`));
            else run(() => revoke({ team, id: c.id }), () => setNotice(`Revoked the invitation for ${c.email}.`));
          }}>{confirming.kind === "remove" ? "Yes, remove" : "Yes, revoke"}</Button>
          <Button size="sm" variant="secondary" onClick={() => setConfirming(undefined)}>Cancel</Button>
        </div>
      )}
      {canManage && (
        <form className="flex flex-wrap items-end gap-2" aria-label="Add member" onSubmit={(e) => {
          e.preventDefault();
          setInvite(undefined);
          run(() => add({ team, email: email.trim(), role }), (r) => {
            setEmail("");
            if (r.kind === "member") { setNotice(`Added ${r.email} to ${team} as ${roleLabel(role)}.`); return; }
            setNotice(undefined);
            setInvite({ email: r.email, url: `${window.location.origin}${r.invite_path}`, expires_at: r.expires_at });
          });
        }}>
          <div>
            <label htmlFor="member-email" className="block text-xs text-stone-600">Email</label>
            <input id="member-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} aria-describedby="member-email-hint" className="mt-1 w-64 rounded-md border border-stone-300 px-2 py-1 text-sm" />
          </div>
          <div>
            <label htmlFor="member-role" className="block text-xs text-stone-600">Role</label>
            <select id="member-role" value={role} onChange={(e) => setRole(e.target.value as Role)} className="mt-1 rounded-md border border-stone-300 px-2 py-1 text-sm">
              {ROLES.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
            </select>
          </div>
          <Button size="sm" type="submit" disabled={pending}>Add member</Button>
          <p id="member-email-hint" className="w-full text-xs text-stone-500">Someone without a Cairn account gets an invitation link to set their password.</p>
        </form>
      )}
      {notice && <p role="status" className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800">{notice}</p>}
      {invite && (
        <section aria-label="Invitation link" className="space-y-2 rounded-md border border-amber-300 bg-amber-50 p-3 text-sm text-stone-800">
          <p role="status">
            <strong>Invitation created for {invite.email}.</strong> Cairn sends no email: send this link to the person yourself. It works once,
            expires {formatDateTime(invite.expires_at)}, and is shown only now.
          </p>
          <CopyLink url={invite.url} label={`Invitation link for ${invite.email}`} />
        </section>
      )}
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
    </div>
  );
}
