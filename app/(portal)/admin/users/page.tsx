import type { Metadata } from "next";
import Link from "next/link";
import { UserStatusButton } from "@/components/admin/user-status";
import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { ROLE_LABELS } from "@/lib/nav";
import { formatDateTime, formatRelative } from "@/lib/format";
import { requirePageCtx } from "@/server/auth/session";
import { listUsers } from "@/server/users/admin";
import { setUserActiveAction } from "../actions";

export const metadata: Metadata = { title: "Users" };

// Admins only (the admin layout answers 403 to everyone else): every account, its teams and status.
export default async function UsersPage() {
  const ctx = await requirePageCtx();
  const users = await listUsers(ctx);
  const deactivated = users.filter((u) => u.deactivated_at).length;
  return (
    <div className="space-y-4">
      <PageHeader
        title="Users"
        description={`${users.length} accounts${deactivated ? `, ${deactivated} deactivated` : ""}. People join by invitation from a team's page (or by single sign-on); a deactivated user cannot sign in, and their sessions and API tokens stop at once.`}
        actions={<Link href="/admin" className="text-sm text-teal-800 hover:underline">Back to Admin</Link>}
      />
      <Table caption="Users">
        <thead><tr><Th>Name</Th><Th>Email</Th><Th>Teams</Th><Th>Signs in with</Th><Th>Last activity</Th><Th>Status</Th><Th><span className="sr-only">Actions</span></Th></tr></thead>
        <tbody className="divide-y divide-stone-100">
          {users.length === 0 && <EmptyRow colSpan={7}>No users.</EmptyRow>}
          {users.map((u) => (
            <tr key={u.id} className={u.deactivated_at ? "text-stone-500" : undefined}>
              <Td className="font-medium">{u.name}{u.is_admin && <Badge tone="teal" className="ml-2">admin</Badge>}</Td>
              <Td className="font-mono text-xs break-all">{u.email}</Td>
              <Td className="text-xs">
                {u.teams.length === 0 ? <span className="text-stone-500">no team</span> : u.teams.map((t) => (
                  <span key={t.slug} className="mr-2 inline-block"><Link href={`/teams/${t.slug}`} className="font-mono text-teal-800 hover:underline">{t.slug}</Link> · {ROLE_LABELS[t.role] ?? t.role}</span>
                ))}
              </Td>
              <Td className="text-xs">{[u.sign_in.password && "password", u.sign_in.sso && "single sign-on"].filter(Boolean).join(", ") || "—"}</Td>
              <Td className="text-xs" title={formatDateTime(u.last_active_at)}>{formatRelative(u.last_active_at)}</Td>
              <Td>{u.deactivated_at ? <span title={formatDateTime(u.deactivated_at)}><Badge tone="red">Deactivated</Badge></span> : <Badge tone="green">Active</Badge>}</Td>
              <Td className="text-right">
                <UserStatusButton userId={u.id} email={u.email} active={!u.deactivated_at} isSelf={u.id === ctx.actor.userId} setActive={setUserActiveAction} />
              </Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
