import type { Metadata } from "next";
import Link from "next/link";
import { JOB_TONE, resourceLabel } from "@/components/jobs/format";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatDurationSeconds, formatRelative, formatUsd } from "@/lib/format";
import { JOB_STATUSES } from "@/db/schema";
import type { JobStatus } from "@/db/schema";
import { pageTeamScope, requirePageCtx } from "@/server/auth/session";
import { forPage } from "@/server/auth/page";
import { listJobs } from "@/server/jobs/service";
import { teamUsage } from "@/server/teams/admin";
import { HeadroomStrip } from "@/components/teams/headroom-strip";

export const metadata: Metadata = { title: "Jobs" };

export default async function JobsPage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const status = JOB_STATUSES.includes(sp.status as JobStatus) ? (sp.status as JobStatus) : undefined;
  const scope = await pageTeamScope(ctx, sp.team);
  const team = scope ?? undefined;
  const teams = ctx.actor.memberships.map((m) => m.teamSlug);
  const [{ jobs }, usages] = await Promise.all([
    forPage(listJobs(ctx, { status, team, limit: 200 })),
    Promise.all((team ? [team] : teams).map((t) => teamUsage(ctx, t).catch(() => null))),
  ]);
  return (
    <div className="space-y-4">
      <PageHeader
        title="Jobs"
        description="Training jobs of your teams: queued for quota, running on the executor, and finished, with their cost so far."
        actions={<Link href="/jobs/new" className={buttonClass("primary", "sm")}>Launch training</Link>}
      />
      <HeadroomStrip usages={usages.filter((u) => u !== null)} />
      <form method="get" className="flex flex-wrap items-end gap-3" aria-label="Filter jobs">
        <div>
          <label htmlFor="status" className="block text-xs text-stone-600">Status</label>
          <select id="status" name="status" defaultValue={status ?? ""} className="mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm">
            <option value="">Any</option>
            {JOB_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
        {teams.length <= 1 && <input type="hidden" name="team" value={team ?? "all"} />}
        {teams.length > 1 && (
          <div>
            <label htmlFor="team" className="block text-xs text-stone-600">Team</label>
            <select id="team" name="team" defaultValue={team ?? "all"} className="mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm">
              <option value="all">All my teams</option>
              {teams.map((t) => <option key={t} value={t}>{t}</option>)}
            </select>
          </div>
        )}
        <button type="submit" className={buttonClass("secondary", "sm")}>Apply</button>
      </form>
      <Table caption="Jobs">
        <thead>
          <tr><Th>Job</Th><Th>Status</Th><Th>Team</Th><Th>User</Th><Th>Resources</Th><Th className="text-right">Runtime</Th><Th className="text-right">Cost so far</Th><Th>Submitted</Th></tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {jobs.length === 0 && <EmptyRow colSpan={8}>{status ? `No ${status} jobs.` : "No jobs yet. Launch training from an experiment, or POST /api/v1/experiments/{id}/train."}</EmptyRow>}
          {jobs.map((j) => (
            <tr key={j.job_id} className="hover:bg-stone-50">
              <Td><Link href={`/jobs/${j.job_id}`} className="font-medium text-teal-800 hover:underline">{j.name}</Link></Td>
              <Td>
                <Badge tone={JOB_TONE[j.status] ?? "neutral"}>{j.status}</Badge>
                {j.queue_reason && <div className="mt-0.5 max-w-xs text-xs text-amber-800">{j.queue_reason}</div>}
              </Td>
              <Td className="font-mono text-xs">{j.team}</Td>
              <Td className="text-stone-700">{j.user}</Td>
              <Td className="text-xs text-stone-700">{resourceLabel(j.resources)}</Td>
              <Td className="text-right whitespace-nowrap tabular-nums">{j.runtime_seconds ? formatDurationSeconds(j.runtime_seconds) : "—"}</Td>
              <Td className="text-right tabular-nums">{formatUsd(j.cost_so_far)}</Td>
              <Td className="text-stone-600" title={formatDateTime(j.queued_at)}>{formatRelative(j.queued_at)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </div>
  );
}
