import type { Metadata } from "next";
import Link from "next/link";
import { NewExperimentForm } from "@/components/experiments/new-experiment-form";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { buttonClass } from "@/components/ui/button";
import { formatDateTime, formatRelative } from "@/lib/format";
import { currentTeamSlug, pageTeamScope, requirePageCtx } from "@/server/auth/session";
import { searchExperiments } from "@/server/tracking/experiments";
import { createExperimentAction } from "./actions";

export const metadata: Metadata = { title: "Experiments" };

const SORTS = {
  activity: { label: "Last activity", order: [] as string[] },
  name: { label: "Name", order: ["name ASC"] },
  created: { label: "Newest", order: ["creation_time DESC"] },
} as const;

export default async function ExperimentsPage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const sort = (sp.sort && sp.sort in SORTS ? sp.sort : "activity") as keyof typeof SORTS;
  const q = sp.q?.slice(0, 200) ?? "";
  const scope = await pageTeamScope(ctx, sp.team);
  const { experiments } = await searchExperiments(ctx, { max_results: 500, view_type: sp.archived === "1" ? "DELETED_ONLY" : "ACTIVE_ONLY", q, order_by: [...SORTS[sort].order], team: scope ?? undefined });
  const rows = sort === "activity" ? [...experiments].sort((a, b) => (b.last_activity_at ?? b.last_update_time) - (a.last_activity_at ?? a.last_update_time)) : experiments;
  const team = await currentTeamSlug(ctx.actor);
  const teams = ctx.actor.memberships.map((m) => m.teamSlug);
  return (
    <div className="space-y-4">
      <PageHeader
        title="Experiments"
        description="Runs logged from your code with the mlflow client (MLFLOW_TRACKING_URI + MLFLOW_TRACKING_TOKEN), grouped by experiment."
        actions={<NewExperimentForm createExperiment={createExperimentAction} teams={teams} defaultTeam={scope ?? team} />}
      />
      <form method="get" className="flex flex-wrap items-end gap-3" role="search" aria-label="Search experiments">
        <input type="hidden" name="team" value={scope ?? "all"} />
        <div>
          <label htmlFor="q" className="block text-xs text-stone-600">Search</label>
          <input id="q" name="q" defaultValue={q} placeholder="name contains…" className="mt-1 w-64 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm focus:border-teal-600 focus:outline-none" />
        </div>
        <div>
          <label htmlFor="sort" className="block text-xs text-stone-600">Sort by</label>
          <select id="sort" name="sort" defaultValue={sort} className="mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm">
            {Object.entries(SORTS).map(([k, v]) => <option key={k} value={k}>{v.label}</option>)}
          </select>
        </div>
        <label className="flex items-center gap-1.5 pb-1.5 text-sm text-stone-700">
          <input type="checkbox" name="archived" value="1" defaultChecked={sp.archived === "1"} /> Archived only
        </label>
        <button type="submit" className={buttonClass("secondary", "sm")}>Apply</button>
      </form>
      <Table caption="Experiments">
        <thead>
          <tr><Th>Name</Th><Th>Team</Th><Th className="text-right">Runs</Th><Th>Last activity</Th><Th>Created</Th></tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {rows.length === 0 && (
            <EmptyRow colSpan={5}>
              {q ? `No experiment matches “${q}”.` : "No experiments yet. Create one, or log from your code: mlflow.set_experiment(\"my-experiment\")."}
            </EmptyRow>
          )}
          {rows.map((e) => (
            <tr key={e.experiment_id} className="hover:bg-stone-50">
              <Td>
                <Link href={`/experiments/${e.experiment_id}`} className="font-medium text-teal-800 hover:underline">{e.name}</Link>
                {e.description && <div className="max-w-md truncate text-xs text-stone-500">{e.description}</div>}
              </Td>
              <Td className="font-mono text-xs">{e.team}</Td>
              <Td className="text-right tabular-nums">{e.run_count ?? 0}</Td>
              <Td className="text-stone-600" title={e.last_activity_at ? formatDateTime(new Date(e.last_activity_at).toISOString()) : undefined}>
                {e.last_activity_at ? formatRelative(new Date(e.last_activity_at).toISOString()) : "—"}
              </Td>
              <Td className="text-stone-600">{formatDateTime(new Date(e.creation_time).toISOString())}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
