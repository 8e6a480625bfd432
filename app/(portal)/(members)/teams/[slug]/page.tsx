import type { Metadata } from "next";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { ROLE_LABELS } from "@/lib/nav";
import { formatUsd } from "@/lib/format";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { ProtectedAliasesForm } from "@/components/registry/protected-aliases-form";
import { can } from "@/server/auth/policy";
import { getProtectedAliases } from "@/server/registry/models";
import { saveProtectedAliases } from "./actions";
import { getTeamForPage } from "./team";

export async function generateMetadata(props: { params: Promise<{ slug: string }> }): Promise<Metadata> {
  return { title: `Team ${(await props.params).slug}` };
}

export default async function TeamPage(props: { params: Promise<{ slug: string }> }) {
  const { slug } = await props.params;
  const ctx = await requirePageCtx();
  const team = await forPage(getTeamForPage(ctx, slug));
  const q = team.quota;
  const registry = await getProtectedAliases(ctx, team.slug);
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === team.slug)?.teamId;
  const canManage = ctx.actor.isAdmin || can(ctx.actor, "manage_team", teamId);
  const quotaRows: [string, string][] = q
    ? [
        ["CPU", `${q.cpu} cores`],
        ["Memory", `${q.memory_gib} GiB`],
        ["GPUs", String(q.gpus)],
        ["Concurrent jobs", String(q.max_concurrent_jobs)],
        ["Deployments", String(q.max_deployments)],
        ["Artifact storage", q.storage_gib === null ? "unlimited" : `${q.storage_gib} GiB`],
        ["Monthly budget", formatUsd(q.monthly_budget_usd)],
      ]
    : [];
  return (
    <div className="space-y-6">
      <PageHeader
        title={team.name}
        description={<>Team <span className="font-mono">{team.slug}</span> · Kubernetes namespace <span className="font-mono">{team.namespace}</span></>}
        actions={team.role ? <Badge tone="teal">You: {ROLE_LABELS[team.role]}</Badge> : undefined}
      />
      <div className="grid gap-6 xl:grid-cols-3">
        <div className="xl:col-span-2">
          <h2 className="mb-2 text-sm font-semibold text-stone-900">Members</h2>
          <Table caption="Members">
            <thead><tr><Th>Name</Th><Th>Email</Th><Th>Role</Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {team.members.length === 0 && <EmptyRow colSpan={3}>No members yet. Member management arrives with the tenants console.</EmptyRow>}
              {team.members.map((m) => (
                <tr key={m.user_id}>
                  <Td className="font-medium">{m.name}</Td>
                  <Td className="font-mono text-xs">{m.email}</Td>
                  <Td><Badge tone={m.role === "team_lead" ? "blue" : "neutral"}>{ROLE_LABELS[m.role] ?? m.role}</Badge></Td>
                </tr>
              ))}
            </tbody>
          </Table>
        </div>
        <Card title="Quota">
          {q ? (
            <dl className="divide-y divide-stone-100 text-sm">
              {quotaRows.map(([k, v]) => (
                <div key={k} className="flex justify-between py-1.5"><dt className="text-stone-600">{k}</dt><dd className="font-medium text-stone-900">{v}</dd></div>
              ))}
            </dl>
          ) : (
            <p className="text-sm text-stone-600">No quota set.</p>
          )}
          <p className="mt-3 text-xs text-stone-500">Usage against quota arrives with training jobs.</p>
        </Card>
        <Card title="Model registry" className="xl:col-start-3">
          <ProtectedAliasesForm team={team.slug} aliases={registry.protected_aliases} canEdit={canManage} save={saveProtectedAliases} />
        </Card>
      </div>
    </div>
  );
}
