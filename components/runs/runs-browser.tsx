"use client";

import dynamic from "next/dynamic";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { brushesToFilter } from "@/lib/chart-brush";
import type { ChartState } from "@/lib/chart-state";
import { withChartState } from "@/lib/chart-state";
import type { ColumnId, RunsTableState } from "@/lib/runs-table";
import { PAGE_SIZES, parseColumns, stateToQuery } from "@/lib/runs-table";
import { buttonClass } from "@/components/ui/button";
import { ColumnChooser } from "./column-chooser";
import type { FilterKeys } from "./filter-bar";
import { FilterBar } from "./filter-bar";
import type { RunRow } from "./runs-table";
import { RunsTable } from "./runs-table";
import type { SavedView } from "./views-menu";
import { ViewsMenu } from "./views-menu";

// The chart panel's code loads when the panel opens: the runs table alone stays as light as before.
const ExperimentCharts = dynamic(() => import("@/components/experiment-charts/experiment-charts").then((m) => m.ExperimentCharts), {
  ssr: false,
  loading: () => <div className="h-[300px] animate-pulse rounded-lg border border-stone-200 bg-stone-100" aria-label="Loading charts" />,
});

type ViewState = { filter: string; order: string; cols: string[] };

type Props = {
  experimentId: string;
  state: RunsTableState;
  /** The chart panel's state from the URL (open or not, and its choices). */
  charts: ChartState;
  columns: FilterKeys;
  /** total_capped: a filtered page counts at most 10,000 runs, and there are more (shown as "10,000+"). */
  result: { runs: RunRow[]; total: number; total_capped?: boolean; offset: number; next_page_token?: string | null };
  error?: string;
  views: SavedView[];
  saveView: (input: { experimentId: string; name: string; state: ViewState }) => Promise<ActionResult<unknown>>;
  deleteView: (input: { experimentId: string; id: string }) => Promise<ActionResult<unknown>>;
};

export function RunsBrowser({ experimentId, state, charts: initialCharts, columns, result, error, views, saveView, deleteView }: Props) {
  const router = useRouter();
  const pathname = usePathname();
  const [pending, startTransition] = useTransition();
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [charts, setCharts] = useState(initialCharts);

  // All table state lives in the URL, so every view is a shareable link.
  function go(next: Partial<RunsTableState>) {
    const merged = { ...state, page: 1, ...next };
    startTransition(() => router.push(`${pathname}?${withChartState(stateToQuery(merged), charts)}`, { scroll: false }));
  }

  // Chart choices change only the browser's URL: the charts fetch their own data, the page needs no new render.
  // Brushes are the exception: they narrow the table, which the server searches again (from its first page).
  function setChartState(next: ChartState) {
    const brushChanged = brushesToFilter(next.brushes) !== brushesToFilter(charts.brushes) || (charts.brushError && next.brushes.length === 0);
    const settled = brushChanged ? { ...next, brushError: undefined } : next;
    setCharts(settled);
    if (!brushChanged) {
      window.history.replaceState(null, "", `${pathname}?${withChartState(window.location.search, settled)}`);
      return;
    }
    const query = new URLSearchParams(window.location.search);
    query.delete("page");
    startTransition(() => router.replace(`${pathname}?${withChartState(query.toString(), settled)}`, { scroll: false }));
  }
  const clearBrushes = () => setChartState({ ...charts, brushes: [], brushError: undefined });

  const toggle = (id: string) => setSelected((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; });
  const toggleAll = () => setSelected((s) => (result.runs.every((r) => s.has(r.run_id)) ? new Set() : new Set(result.runs.map((r) => r.run_id))));
  const from = result.total === 0 ? 0 : result.offset + 1;
  const to = result.offset + result.runs.length;
  const pages = Math.max(1, Math.ceil(result.total / state.size));
  const capped = result.total_capped === true;
  const hasNext = result.next_page_token !== undefined ? result.next_page_token !== null : state.page < pages;
  const compareIds = [...selected].slice(0, 20);

  return (
    <div className="space-y-3" aria-busy={pending}>
      <div className="flex flex-wrap items-start gap-3">
        <FilterBar key={state.filter} value={state.filter} serverError={error} keys={columns} onApply={(filter) => go({ filter })} />
        <ColumnChooser keys={columns} selected={state.cols} onChange={(cols) => go({ cols, page: state.page })} />
        <button type="button" className={buttonClass(charts.open ? "primary" : "secondary", "sm")} aria-pressed={charts.open} aria-controls="experiment-charts" onClick={() => setChartState({ ...charts, open: !charts.open })}>
          Charts
        </button>
      </div>
      {charts.open && (
        <div id="experiment-charts">
          <ExperimentCharts experimentId={experimentId} filter={state.filter} columns={columns} state={charts} onChange={setChartState} selected={selected} />
        </div>
      )}
      <div className="flex flex-wrap items-center justify-between gap-3">
        <ViewsMenu
          views={views}
          current={{ filter: state.filter, order: state.order, cols: state.cols }}
          onApply={(v) => go({ filter: v.state.filter, order: v.state.order, cols: parseColumns(v.state.cols.join(",")) })}
          onSave={(name) => saveView({ experimentId, name, state: { filter: state.filter, order: state.order, cols: state.cols } })}
          onDelete={(id) => deleteView({ experimentId, id })}
        />
        <div className="flex items-center gap-2">
          <span className="text-sm text-stone-600">{selected.size} selected</span>
          {selected.size >= 2 && selected.size <= 20 ? (
            <Link href={`/compare?runs=${compareIds.join(",")}`} className={buttonClass("primary", "sm")}>Compare {selected.size} runs</Link>
          ) : (
            <span className={`${buttonClass("secondary", "sm")} cursor-not-allowed opacity-60`} title="Select 2 to 20 runs to compare" aria-disabled="true">Compare</span>
          )}
        </div>
      </div>
      {charts.brushes.length > 0 && (
        <p className="flex flex-wrap items-center gap-2 text-sm" data-testid="brush-chip">
          <span className="inline-flex items-center gap-2 rounded-full bg-teal-50 px-3 py-1 text-teal-900 ring-1 ring-teal-200" title={brushesToFilter(charts.brushes)}>
            <span role="status">{pending ? "Selecting runs…" : `${result.total.toLocaleString()} ${result.total === 1 ? "run" : "runs"} selected by the chart`}</span>
            <span aria-hidden>—</span>
            <button type="button" className="font-medium underline hover:text-red-700" onClick={clearBrushes} aria-label="Clear the chart selection">clear</button>
          </span>
          {!charts.open && <span className="text-xs text-stone-600">The brushes sit in the chart panel (Charts).</span>}
        </p>
      )}
      {charts.brushError && (
        <p role="alert" className="rounded-md border border-amber-200 bg-amber-50 p-2 text-sm text-amber-900" data-testid="brush-error">
          The chart selection in this link was not applied: {charts.brushError}{" "}
          <button type="button" className="font-medium underline" onClick={clearBrushes}>Remove it from the link</button>
        </p>
      )}
      <RunsTable
        runs={result.runs}
        cols={state.cols as ColumnId[]}
        order={state.order}
        selected={selected}
        onToggle={toggle}
        onToggleAll={toggleAll}
        onSort={(order) => go({ order, page: 1 })}
      />
      <div className="flex flex-wrap items-center justify-between gap-3 text-sm text-stone-600">
        <span data-testid="runs-count">{pending ? "Loading…" : `Showing ${from.toLocaleString()}–${to.toLocaleString()} of ${result.total.toLocaleString()}${capped ? "+" : ""} runs`}</span>
        <div className="flex items-center gap-2">
          <label htmlFor="page-size">Rows</label>
          <select id="page-size" value={state.size} onChange={(e) => go({ size: Number(e.target.value) })} className="rounded-md border border-stone-300 bg-white px-2 py-1">
            {PAGE_SIZES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
          <button type="button" className={buttonClass("secondary", "sm")} disabled={state.page <= 1 || pending} onClick={() => go({ page: state.page - 1 })}>← Previous</button>
          <span>Page {state.page} of {pages.toLocaleString()}{capped ? "+" : ""}</span>
          <button type="button" className={buttonClass("secondary", "sm")} disabled={!hasNext || pending} onClick={() => go({ page: state.page + 1 })}>Next →</button>
        </div>
      </div>
    </div>
  );
}
