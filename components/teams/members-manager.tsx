"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";

type Role = "data_scientist" | "ml_engineer" | "team_lead";
const ROLES: [Role, string][] = [["data_scientist", "Data scientist"], ["ml_engineer", "ML engineer"], ["team_lead", "Team lead"]];

type Member = { user_id: string; email: string; name: string; role: string };

/** Members of a team with their roles; team leads and admins add, re-role and remove them here. */
export function MembersManager({ team, members, canManage, add, changeRole, remove }: {
  team: string;
  members: Member[];
  canManage: boolean;
  add: (input: { team: string; email: string; role: Role }) => Promise<ActionResult<string>>;
  changeRole: (input: { team: string; user_id: string; role: Role }) => Promise<ActionResult<string>>;
  remove: (input: { team: string; user_id: string }) => Promise<ActionResult<string>>;
}) {
  const router = useRouter();
  const [email, setEmail] = useState("");
  const [role, setRole] = useState<Role>("data_scientist");
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  const run = (call: () => Promise<ActionResult<unknown>>, after?: () => void) =>
    startTransition(async () => {
      const r = await call();
      if (!r.ok) { setError(r.fieldErrors ? Object.values(r.fieldErrors).flat().join("; ") || r.error : r.error); return; }
      setError(undefined);
      after?.();
      router.refresh();
    });
  return (
    <div className="space-y-3">
      <div className="overflow-x-auto rounded-lg border border-stone-200 bg-white">
        <table className="min-w-full text-sm">
          <caption className="sr-only">Members</caption>
          <thead className="bg-stone-50 text-left text-xs font-semibold tracking-wide text-stone-600 uppercase">
            <tr><th className="px-3 py-2">Name</th><th className="px-3 py-2">Email</th><th className="px-3 py-2">Role</th>{canManage && <th className="px-3 py-2"><span className="sr-only">Actions</span></th>}</tr>
          </thead>
          <tbody className="divide-y divide-stone-100">
            {members.length === 0 && <tr><td colSpan={4} className="px-3 py-6 text-center text-stone-500">No members yet.</td></tr>}
            {members.map((m) => (
              <tr key={m.user_id}>
                <td className="px-3 py-2 font-medium">{m.name}</td>
                <td className="px-3 py-2 font-mono text-xs">{m.email}</td>
                <td className="px-3 py-2">
                  {canManage ? (
                    <select aria-label={`Role of ${m.email}`} value={m.role} disabled={pending} onChange={(e) => run(() => changeRole({ team, user_id: m.user_id, role: e.target.value as Role }))} className="rounded-md border border-stone-300 px-2 py-1 text-sm">
                      {ROLES.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
                    </select>
                  ) : (ROLES.find(([v]) => v === m.role)?.[1] ?? m.role)}
                </td>
                {canManage && (
                  <td className="px-3 py-2 text-right">
                    <Button size="sm" variant="ghost" disabled={pending} aria-label={`Remove ${m.email}`} onClick={() => {
                      if (window.confirm(`Remove ${m.email} from ${team}? Their access and tokens for this team stop at once.`)) run(() => remove({ team, user_id: m.user_id }));
                    }}>Remove</Button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {canManage && (
        <form className="flex flex-wrap items-end gap-2" aria-label="Add member" onSubmit={(e) => { e.preventDefault(); run(() => add({ team, email: email.trim(), role }), () => setEmail("")); }}>
          <div>
            <label htmlFor="member-email" className="block text-xs text-stone-600">Email</label>
            <input id="member-email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} className="mt-1 w-64 rounded-md border border-stone-300 px-2 py-1 text-sm" />
          </div>
          <div>
            <label htmlFor="member-role" className="block text-xs text-stone-600">Role</label>
            <select id="member-role" value={role} onChange={(e) => setRole(e.target.value as Role)} className="mt-1 rounded-md border border-stone-300 px-2 py-1 text-sm">
              {ROLES.map(([v, label]) => <option key={v} value={v}>{label}</option>)}
            </select>
          </div>
          <Button size="sm" type="submit" disabled={pending}>Add member</Button>
        </form>
      )}
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
    </div>
  );
}
