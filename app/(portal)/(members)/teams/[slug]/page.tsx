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
import Link from "next/link";
import { MembersManager } from "@/components/teams/members-manager";
import { QuotaEditor } from "@/components/teams/quota-editor";
import { BudgetNotice } from "@/components/costs/budget-notice";
import type { BudgetThresholds } from "@/lib/schemas/teams";
import { UsageBars } from "@/components/teams/usage-bars";
import { teamUsage } from "@/server/teams/admin";
import { listInvitations } from "@/server/teams/invitations";
import { addMemberAction, changeRoleAction, removeMemberAction, revokeInvitationAction, saveProtectedAliases, saveQuotaAction } from "./actions";
import { getTeamForPage } from "./team";
import { ClusterSync } from "@/components/teams/cluster-sync";
import { describeLimitRange } from "@/lib/limit-range";

export async function generateMetadata(props: { params: Promise<{ slug: string }> }): Promise<Metadata> {
  return { title: `Team ${(await props.params).slug}` };
}

function describeSteps(t: BudgetThresholds | undefined): string {
  if (!t) return "—";
  const parts = [["warn", t.warn_pct], ["lead approval", t.approval_pct], ["block", t.block_pct]].map(([name, pct]) => `${name} ${pct === null ? "off" : `at ${pct} %`}`);
  return parts.join(" · ");
}

export default async function TeamPage(props: { params: Promise<{ slug: string }> }) {
  const { slug } = await props.params;
  const ctx = await requirePageCtx();
  const team = await forPage(getTeamForPage(ctx, slug));
  const q = team.quota;
  const [registry, usage, invitations] = await Promise.all([getProtectedAliases(ctx, team.slug), teamUsage(ctx, team.slug), listInvitations(ctx, team.slug)]);
  const isAdmin = ctx.actor.isAdmin;
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === team.slug)?.teamId;
  const canManage = ctx.actor.isAdmin || can(ctx.actor, "manage_team", teamId);
  const quotaRows: [string, string][] = q
    ? [
        ["CPU", `${q.cpu} cores`],
        ["Memory", `${q.memory_gib} GiB`],
        ["GPUs", `${q.gpus}${q.gpus_by_type ? ` (${Object.entries(q.gpus_by_type).map(([t, n]) => `${n}× ${t}`).join(", ")})` : ""}`],
        ["Concurrent jobs", String(q.max_concurrent_jobs)],
        ["Deployments", String(q.max_deployments)],
        ["Model replicas", String(q.max_replicas)],
        ["Artifact storage", q.storage_gib === null ? "unlimited" : `${q.storage_gib} GiB`],
        ["Monthly budget", formatUsd(q.monthly_budget_usd)],
        ["Budget steps", describeSteps(q.budget_thresholds)],
        ["Per-container limits", describeLimitRange(q.limit_range)],
      ]
    : [];
  return (
    <div className="space-y-6">
      <PageHeader
        title={team.name}
        description={<>Team <span className="font-mono">{team.slug}</span> · Kubernetes namespace <span className="font-mono">{team.namespace}</span></>}
        actions={team.role ? <Badge tone="teal">You: {ROLE_LABELS[team.role]}</Badge> : undefined}
      />
      {team.budget && <BudgetNotice budget={team.budget} />}
      <div className="grid gap-6 xl:grid-cols-3">
        <div className="space-y-6 xl:col-span-2">
          <section aria-labelledby="members-heading">
            <h2 id="members-heading" className="mb-2 text-sm font-semibold text-stone-900">Members</h2>
            <MembersManager team={team.slug} members={team.members} invitations={invitations} canManage={canManage} add={addMemberAction} changeRole={changeRoleAction} remove={removeMemberAction} revoke={revokeInvitationAction} />
          </section>
          <section aria-labelledby="usage-heading" className="space-y-2">
            <h2 id="usage-heading" className="text-sm font-semibold text-stone-900">Usage against quota</h2>
            <UsageBars usage={usage} />
            <h3 className="pt-2 text-xs font-semibold tracking-wide text-stone-500 uppercase">Who uses what</h3>
            <Table caption="Running work">
              <thead><tr><Th>Job</Th><Th>User</Th><Th>Status</Th><Th>Holds</Th></tr></thead>
              <tbody className="divide-y divide-stone-100">
                {usage.top.length === 0 && <EmptyRow colSpan={4}>Nothing is running.</EmptyRow>}
                {usage.top.map((j) => (
                  <tr key={j.id}>
                    <Td><Link href={`/jobs/${j.id}`} className="text-teal-800 hover:underline">{j.name}</Link></Td>
                    <Td className="text-stone-700">{j.user}</Td>
                    <Td className="text-xs">{j.status}</Td>
                    <Td className="text-xs">{j.cpu} CPU · {j.memory_gib} GiB{j.gpus ? ` · ${j.gpus} GPU` : ""}</Td>
                  </tr>
                ))}
              </tbody>
            </Table>
            <h3 className="pt-2 text-xs font-semibold tracking-wide text-stone-500 uppercase">Queued for quota</h3>
            <Table caption="Queued jobs">
              <thead><tr><Th>Job</Th><Th>User</Th><Th>Needs</Th><Th>Why it waits</Th></tr></thead>
              <tbody className="divide-y divide-stone-100">
                {usage.queued_jobs.length === 0 && <EmptyRow colSpan={4}>Nothing is waiting.</EmptyRow>}
                {usage.queued_jobs.map((j) => (
                  <tr key={j.job_id}>
                    <Td><Link href={`/jobs/${j.job_id}`} className="text-teal-800 hover:underline">{j.name}</Link></Td>
                    <Td className="text-stone-700">{j.user}</Td>
                    <Td className="text-xs">{j.cpu} CPU · {j.memory_gib} GiB{j.gpus ? ` · ${j.gpus} GPU` : ""}</Td>
                    <Td className="text-xs text-amber-800">{j.queue_reason ?? "waiting for the scheduler"}</Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          </section>
        </div>
        <div className="space-y-6">
          <Card title="Quota">
            {q && isAdmin ? (
              <QuotaEditor team={team.slug} quota={q} save={saveQuotaAction} />
            ) : q ? (
              <dl className="divide-y divide-stone-100 text-sm">
                {quotaRows.map(([k, v]) => (
                  <div key={k} className="flex justify-between py-1.5"><dt className="text-stone-600">{k}</dt><dd className="font-medium text-stone-900">{v}</dd></div>
                ))}
              </dl>
            ) : (
              <p className="text-sm text-stone-600">No quota set.</p>
            )}
          </Card>
          <Card title="Kubernetes">
            <ClusterSync backend={usage.backend} status={usage.kubernetes} />
          </Card>
          <Card title="Model registry">
            <ProtectedAliasesForm team={team.slug} aliases={registry.protected_aliases} canEdit={canManage} save={saveProtectedAliases} />
          </Card>
        </div>
      </div>
    </div>
  );
}
