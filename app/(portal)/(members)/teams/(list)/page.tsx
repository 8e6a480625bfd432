import type { Metadata } from "next";
import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { ROLE_LABELS } from "@/lib/nav";
import { formatDateTime } from "@/lib/format";
import { requirePageCtx } from "@/server/auth/session";
import { listTeams } from "@/server/teams/service";

export const metadata: Metadata = { title: "Teams" };

export default async function TeamsPage() {
  const ctx = await requirePageCtx();
  const teams = await listTeams(ctx);
  return (
    <div>
      <PageHeader
        title="Teams"
        description={ctx.actor.isAdmin ? "Every team on the platform. Create teams from Admin." : "The teams you belong to and your role in each."}
      />
      <Table caption="Teams">
        <thead>
          <tr><Th>Team</Th><Th>Slug</Th><Th>Namespace</Th><Th>Your role</Th><Th>Created</Th></tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {teams.length === 0 && <EmptyRow colSpan={5}>No teams yet.</EmptyRow>}
          {teams.map((t) => (
            <tr key={t.slug} className="hover:bg-stone-50">
              <Td><Link className="font-medium text-teal-800 hover:underline" href={`/teams/${t.slug}`}>{t.name}</Link></Td>
              <Td className="font-mono text-xs">{t.slug}</Td>
              <Td className="font-mono text-xs text-stone-600">{t.namespace}</Td>
              <Td>{t.role ? <Badge tone="teal">{ROLE_LABELS[t.role]}</Badge> : <span className="text-stone-500">—</span>}</Td>
              <Td className="text-stone-600">{formatDateTime(t.created_at)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
