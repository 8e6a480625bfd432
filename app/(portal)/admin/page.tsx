import type { Metadata } from "next";
import Link from "next/link";
import { CreateTeamForm } from "@/components/admin/create-team-form";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatUsd } from "@/lib/format";
import { requirePageCtx } from "@/server/auth/session";
import { listInstanceTypes } from "@/server/teams/instance-types";
import { DEFAULT_QUOTA } from "@/server/teams/service";
import { teamSummaries } from "@/server/teams/summary";
import { TeamSummaryTable } from "@/components/teams/team-summary-table";
import { TeamLifecycleButton } from "@/components/admin/team-lifecycle";
import { jobIsolation, listArchivedTeams, tenantSyncStates } from "@/server/teams/admin";
import { Badge } from "@/components/ui/badge";
import { createTeamAction, deleteInstanceTypeAction, saveInstanceTypeAction, saveResourcePriceAction, setTeamArchivedAction } from "./actions";
import { ResourcePriceForm } from "@/components/admin/resource-prices";
import { listResourcePrices } from "@/server/costs/resource-prices";
import { DeleteInstanceTypeButton, InstanceTypeForm } from "@/components/admin/instance-types";
import { ClusterSection } from "@/components/cluster/kubernetes-panels";
import { clusterOverview } from "@/server/compute/cluster-view";

export const metadata: Metadata = { title: "Admin" };

export default async function AdminPage() {
  const ctx = await requirePageCtx();
  const [teams, types, archived, sync, cluster, prices] = await Promise.all([teamSummaries(ctx), listInstanceTypes(ctx), listArchivedTeams(ctx), tenantSyncStates(ctx), clusterOverview(ctx), listResourcePrices(ctx)]);
  const isolation = jobIsolation(ctx);
  return (
    <div className="space-y-6">
      <PageHeader
        title="Admin"
        description="Tenants, users and the instance-type catalog with its prices."
        actions={<div className="flex gap-4"><Link href="/admin/users" className="text-sm font-medium text-teal-800 hover:underline">Users →</Link><Link href="/admin/platform" className="text-sm font-medium text-teal-800 hover:underline">Platform →</Link></div>}
      />
      {isolation && <JobIsolation isolation={isolation} />}
      <ClusterSection cluster={cluster} />
      <div className="grid gap-6 xl:grid-cols-3">
        <div className="space-y-2 xl:col-span-2">
          <h2 className="text-sm font-semibold text-stone-900">Teams ({teams.length})</h2>
          <TeamSummaryTable
            caption="All teams"
            teams={teams}
            empty="No teams yet. Create the first one."
            extra={{
              headers: ["Cluster", <span key="a" className="sr-only">Actions</span>],
              cells: (slug) => [
                <SyncCell key="s" backend={sync.backend} state={sync.states[slug]} />,
                <div key="a" className="text-right"><TeamLifecycleButton slug={slug} archived={false} setArchived={setTeamArchivedAction} /></div>,
              ],
            }}
          />
          {archived.length > 0 && (
            <Table caption="Archived teams">
              <thead><tr><Th>Archived team</Th><Th>Slug</Th><Th>Archived</Th><Th><span className="sr-only">Actions</span></Th></tr></thead>
              <tbody className="divide-y divide-stone-100">
                {archived.map((t) => (
                  <tr key={t.slug} className="text-stone-500">
                    <Td>{t.name} <span className="text-xs">(archived)</span></Td>
                    <Td className="font-mono text-xs">{t.slug}</Td>
                    <Td className="text-xs">{formatDateTime(t.archived_at)}</Td>
                    <Td className="text-right"><TeamLifecycleButton slug={t.slug} archived setArchived={setTeamArchivedAction} /></Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          )}
          <p className="text-xs text-stone-500">Open a team to manage its members, quota and usage. Archiving hides a team and stops its members&apos; and tokens&apos; access; restoring brings both back.</p>
        </div>
        <Card title="Create a team">
          <CreateTeamForm createTeam={createTeamAction} defaults={{
            cpu: DEFAULT_QUOTA.cpu, memory_gib: DEFAULT_QUOTA.memoryGib, gpus: DEFAULT_QUOTA.gpus, max_concurrent_jobs: DEFAULT_QUOTA.maxConcurrentJobs,
            max_deployments: DEFAULT_QUOTA.maxDeployments, max_replicas: DEFAULT_QUOTA.maxReplicas, storage_gib: DEFAULT_QUOTA.storageGib, monthly_budget_usd: DEFAULT_QUOTA.monthlyBudgetUsd,
          }} />
        </Card>
      </div>
      <div className="grid gap-6 xl:grid-cols-3">
        <div className="space-y-2 xl:col-span-2">
          <h2 className="text-sm font-semibold text-stone-900">Instance types</h2>
          <Table caption="Instance types">
            <thead><tr><Th>Name</Th><Th>CPU</Th><Th>Memory</Th><Th>GPUs</Th><Th>Price / hour</Th><Th><span className="sr-only">Actions</span></Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {types.length === 0 && <EmptyRow colSpan={6}>No instance types defined: jobs can only name explicit resources. Add one.</EmptyRow>}
              {types.map((t) => (
                <tr key={t.name}>
                  <Td className="font-mono text-xs">{t.name}</Td>
                  <Td>{t.cpu}</Td>
                  <Td>{t.memory_gib} GiB</Td>
                  <Td>{t.gpu_count > 0 ? `${t.gpu_count} × ${t.gpu_type}` : "—"}</Td>
                  <Td>{formatUsd(t.hourly_price_usd)}</Td>
                  <Td className="text-right"><DeleteInstanceTypeButton name={t.name} remove={deleteInstanceTypeAction} /></Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <p className="text-xs text-stone-500">Jobs keep the resources and price they were submitted with; a change applies to new jobs. A job that names explicit resources is priced at the cheapest type that holds them.</p>
        </div>
        <Card title="Add or change an instance type">
          <InstanceTypeForm save={saveInstanceTypeAction} />
        </Card>
      </div>
      <div className="grid gap-6 xl:grid-cols-3">
        <div className="space-y-2 xl:col-span-2">
          <h2 className="text-sm font-semibold text-stone-900">Resource prices</h2>
          <Table caption="Resource prices">
            <thead><tr><Th>Resource</Th><Th>GPU type</Th><Th>Price</Th><Th>Changed</Th></tr></thead>
            <tbody className="divide-y divide-stone-100">
              {prices.length === 0 && <EmptyRow colSpan={4}>No resource prices: costs are not split by kind (all counts as CPU) and storage is free. Add one.</EmptyRow>}
              {prices.map((p) => (
                <tr key={`${p.kind}:${p.gpu_type ?? ""}`}>
                  <Td className="capitalize">{p.kind}</Td>
                  <Td className="font-mono text-xs">{p.kind === "gpu" ? p.gpu_type ?? "any other type" : "—"}</Td>
                  <Td>${p.unit_price_usd} / {p.unit}</Td>
                  <Td className="text-xs">{formatDateTime(p.updated_at)}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
          <p className="text-xs text-stone-500">The meter splits each job&apos;s and serving replica&apos;s hourly price across CPU, memory and GPU in proportion to these prices (what a team pays stays the instance type&apos;s price), and charges stored artifacts per GiB-month at the storage price. A change applies to time metered from then on.</p>
        </div>
        <Card title="Set a resource price">
          <ResourcePriceForm save={saveResourcePriceAction} />
        </Card>
      </div>
    </div>
  );
}

function SyncCell({ backend, state }: { backend: "local" | "kubernetes"; state?: { state: string; message: string | null; drift_repaired_at: string | null } }) {
  if (backend === "local") return <span className="text-xs text-stone-500">local admission</span>;
  if (!state) return <span className="text-xs text-stone-500">not synced yet</span>;
  if (state.state === "error") return <span title={state.message ?? undefined}><Badge tone="red">sync error</Badge></span>;
  if (state.state === "drift_repaired") return <Badge tone="amber">drift repaired {state.drift_repaired_at ? new Date(state.drift_repaired_at).toISOString().slice(11, 16) : ""} UTC</Badge>;
  return <Badge tone="green">in sync</Badge>;
}

function JobIsolation({ isolation }: { isolation: NonNullable<ReturnType<typeof jobIsolation>> }) {
  const level = isolation.backend === "kubernetes" ? "Kubernetes pods" : { isolated: "sandboxed, own uid per job", namespaces: "sandboxed, server's uid", none: "not sandboxed" }[isolation.mode];
  const weak = isolation.backend === "local" && isolation.mode !== "isolated";
  return (
    <section aria-labelledby="job-isolation" className={`rounded-lg border p-4 text-sm ${weak ? "border-amber-300 bg-amber-50" : "border-stone-200 bg-white"}`}>
      <h2 id="job-isolation" className="font-semibold text-stone-900">
        Job isolation: {level} {weak ? <Badge tone="amber">weaker</Badge> : <Badge tone="green">contained</Badge>}
      </h2>
      <p className="mt-1 text-stone-700">{isolation.detail}</p>
      {isolation.backend === "local" && isolation.limitation && <p className="mt-1 text-stone-600">Why not stronger: {isolation.limitation}.</p>}
    </section>
  );
}
