import type { Metadata } from "next";
import Link from "next/link";
import { DeployedBadge } from "@/components/deployments/deployed-badge";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatRelative } from "@/lib/format";
import { modelHref } from "@/lib/registry-links";
import { pageTeamScope, requirePageCtx } from "@/server/auth/session";
import { listModels } from "@/server/registry/lineage";

export const metadata: Metadata = { title: "Models" };

export default async function ModelsPage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const q = sp.q?.slice(0, 200) ?? "";
  const scope = await pageTeamScope(ctx, sp.team);
  const { models } = await listModels(ctx, { q, team: scope ?? undefined });
  return (
    <div className="space-y-4">
      <PageHeader
        title="Models"
        description={<>Registered models of your teams. Register a version from a run&apos;s artifacts (the run page&apos;s <em>Register model</em>), or from code: <code className="font-mono text-xs">mlflow.register_model(&quot;runs:/&lt;run_id&gt;/model&quot;, &quot;name&quot;)</code>.</>}
      />
      <form method="get" className="flex flex-wrap items-end gap-3" role="search" aria-label="Search models">
        <input type="hidden" name="team" value={scope ?? "all"} />
        <div>
          <label htmlFor="q" className="block text-xs text-stone-600">Search</label>
          <input id="q" name="q" defaultValue={q} placeholder="name contains…" className="mt-1 w-64 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm focus:border-teal-600 focus:outline-none" />
        </div>
        <button type="submit" className={buttonClass("secondary", "sm")}>Apply</button>
      </form>
      <Table caption="Registered models">
        <thead>
          <tr><Th>Name</Th><Th>Team</Th><Th className="text-right">Latest version</Th><Th>Aliases</Th><Th className="text-right">Versions</Th><Th>Where deployed</Th><Th>Updated</Th></tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {models.length === 0 && (
            <EmptyRow colSpan={7}>{q ? `No model matches “${q}”.` : "No registered models yet. Open a run with a logged model and choose Register model."}</EmptyRow>
          )}
          {models.map((m) => (
            <tr key={`${m.team}/${m.name}`} className="hover:bg-stone-50">
              <Td>
                <Link href={modelHref(m.team, m.name)} className="font-medium text-teal-800 hover:underline">{m.name}</Link>
                {m.description && <div className="max-w-md truncate text-xs text-stone-500">{m.description.split("\n")[0]}</div>}
              </Td>
              <Td className="font-mono text-xs">{m.team}</Td>
              <Td className="text-right tabular-nums">
                {m.latest_version === null ? "—" : <Link href={modelHref(m.team, m.name, m.latest_version)} className="text-teal-800 hover:underline">v{m.latest_version}</Link>}
              </Td>
              <Td>
                <div className="flex flex-wrap gap-1">
                  {Object.keys(m.aliases).length === 0 && <span className="text-stone-400">—</span>}
                  {Object.entries(m.aliases).map(([alias, v]) => <Badge key={alias} tone={alias === "production" ? "green" : "teal"}>@{alias} → v{v}</Badge>)}
                </div>
              </Td>
              <Td className="text-right tabular-nums">{m.version_count}</Td>
              <Td>
                <div className="flex flex-wrap gap-1">
                  {m.deployed.length === 0 && <span className="text-stone-400">not deployed</span>}
                  {m.deployed.map((d) => <DeployedBadge key={d.deployment_id} d={d} />)}
                </div>
              </Td>
              <Td className="text-stone-600" title={formatDateTime(m.updated_at)}>{formatRelative(m.updated_at)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
