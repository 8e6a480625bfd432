import type { Metadata } from "next";
import Link from "next/link";
import { LifecycleButton } from "@/components/experiments/lifecycle-button";
import { RunsBrowser } from "@/components/runs/runs-browser";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { formatRelative } from "@/lib/format";
import type { ColumnId } from "@/lib/runs-table";
import { readState } from "@/lib/runs-table";
import { readBrushes, readChartState } from "@/lib/chart-state";
import { brushesToFilter, combineFilters } from "@/lib/chart-brush";
import { isAppError } from "@/server/errors";
import { can } from "@/server/auth/policy";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import type { BrowseResult } from "@/server/tracking/browse";
import { browseRuns, experimentColumns } from "@/server/tracking/browse";
import { encodeOffset } from "@/server/tracking/experiments";
import { getExperimentForPage } from "./experiment";
import { listViews } from "@/server/tracking/views";
import { listSweeps } from "@/server/sweeps/service";
import { SweepList } from "@/components/sweeps/sweep-list";
import { timed } from "@/server/http/page-timing";
import { deleteViewAction, saveViewAction, setExperimentLifecycleAction } from "./actions";

export async function generateMetadata(props: { params: Promise<{ id: string }> }): Promise<Metadata> {
  return { title: `Experiment ${(await props.params).id}` };
}

export default async function ExperimentPage(props: { params: Promise<{ id: string }>; searchParams: Promise<Record<string, string | undefined>> }) {
  const [{ id }, sp] = await Promise.all([props.params, props.searchParams]);
  const ctx = await requirePageCtx();
  const experiment = await forPage(getExperimentForPage(ctx, id));
  const teamId = ctx.actor.memberships.find((m) => m.teamSlug === experiment.team)?.teamId;
  const canArchive = ctx.actor.isAdmin || can(ctx.actor, "write_data", teamId);
  // The page of runs does not depend on the column list: fetch all three at once.
  const base = readState(sp, { cols: [] });
  // The chart panel's brushes narrow the table on the server, as conditions AND-ed to the user's filter.
  const brushFilter = brushesToFilter(readBrushes(sp).brushes);
  const browse = browseRuns(ctx, {
    experimentId: id, filter: combineFilters(base.filter, brushFilter), orderBy: base.order ? [base.order] : [], pageSize: base.size,
    pageToken: base.page > 1 ? encodeOffset((base.page - 1) * base.size) : undefined,
  }).then(
    (r): { result: BrowseResult; error?: string } => ({ result: r }),
    (err: unknown) => {
      // A bad or too costly filter, a search that ran past its time limit, or the team's searches all busy:
      // the filter box says why, the page stays usable.
      if (!isAppError(err) || (err.code !== "invalid_input" && err.code !== "rate_limited")) throw err;
      return { result: { runs: [], total: 0, total_capped: false, offset: 0, next_page_token: null }, error: err.message };
    },
  );
  const [columns, views, { result, error }, sweeps] = await Promise.all([
    timed("experiment page: columns", experimentColumns(ctx, id)), timed("experiment page: views", listViews(ctx, id)), timed("experiment page: runs", browse),
    timed("experiment page: sweeps", listSweeps(ctx, id)),
  ]);
  const defaults: ColumnId[] = [
    ...columns.metrics.slice(0, 4).map((k) => `metrics.${k}` as const),
    ...columns.params.slice(0, 3).map((k) => `params.${k}` as const),
  ];
  const state = readState(sp, { cols: defaults });
  // Only the visible columns travel to the browser.
  const shown = (prefix: string) => new Set(state.cols.filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length)));
  const [ps, ms, ts] = [shown("params."), shown("metrics."), shown("tags.")];
  const pick = <T,>(o: Record<string, T>, keys: Set<string>) => Object.fromEntries(Object.entries(o).filter(([k]) => keys.has(k)));
  const visible = { ...result, runs: result.runs.map((r) => ({ ...r, params: pick(r.params, ps), metrics: pick(r.metrics, ms), tags: pick(r.tags, ts) })) };
  return (
    <div className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/experiments" className="hover:underline">Experiments</Link> <span aria-hidden>/</span> {experiment.name}
      </nav>
      <PageHeader
        title={experiment.name}
        description={
          <>
            {experiment.description ?? "No description."} · team <span className="font-mono">{experiment.team}</span> · {experiment.run_count ?? 0} runs
            {experiment.last_activity_at ? ` · active ${formatRelative(new Date(experiment.last_activity_at).toISOString())}` : ""}
          </>
        }
        actions={
          <>
            {experiment.lifecycle_stage === "deleted" && <Badge tone="amber">archived</Badge>}
            {experiment.lifecycle_stage === "active" && <Link href={`/jobs/new?experiment=${experiment.experiment_id}`} className={buttonClass("primary", "sm")}>Train</Link>}
            {experiment.lifecycle_stage === "active" && <Link href={`/experiments/${experiment.experiment_id}/sweeps/new`} className={buttonClass("secondary", "sm")}>New sweep</Link>}
            {canArchive && <LifecycleButton experimentId={experiment.experiment_id} archived={experiment.lifecycle_stage === "deleted"} setLifecycle={setExperimentLifecycleAction} />}
          </>
        }
      />
      {sweeps.length > 0 && <SweepList sweeps={sweeps} />}
      <RunsBrowser
        experimentId={experiment.experiment_id}
        state={state}
        charts={readChartState(sp, columns)}
        columns={columns}
        result={visible}
        error={error}
        views={views}
        saveView={saveViewAction}
        deleteView={deleteViewAction}
      />
    </div>
  );
}
