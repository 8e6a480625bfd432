"use client";

// The experiment's chart panel over every run of the runs table's filter: a metric over steps, parallel coordinates
// of params → objective, a scatter of any two keys and parameter importance. Hovering a run in one chart highlights
// it in all; the table's selected runs stand out everywhere. The choices live in the URL (lib/chart-state.ts).
import { useMemo, useState } from "react";
import type { ChartState } from "@/lib/chart-state";
import type { Value } from "@/lib/chart-scales";
import { CHART_ATTRIBUTES } from "@/lib/schemas/charts";
import { ImportanceBars } from "./importance-bars";
import { LinesChart } from "./lines-chart";
import { ParallelCoordinates } from "./parallel-coordinates";
import { ScatterPlot } from "./scatter-plot";
import { useChartHistories, useChartRuns, useImportance } from "./use-chart-data";

type Props = {
  experimentId: string;
  filter: string;
  columns: { params: string[]; metrics: string[] };
  state: ChartState;
  onChange: (next: ChartState) => void;
  selected: Set<string>;
};

const SELECT = "rounded-md border border-stone-300 bg-white px-2 py-1 text-sm";

function Panel({ id, title, children, actions }: { id: string; title: string; children: React.ReactNode; actions?: React.ReactNode }) {
  return (
    <section aria-labelledby={id} className="rounded-lg border border-stone-200 bg-white p-3">
      <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
        <h3 id={id} className="text-sm font-semibold text-stone-900">{title}</h3>
        <div className="flex flex-wrap items-center gap-3 text-sm">{actions}</div>
      </div>
      {children}
    </section>
  );
}

function Status({ loading, error, empty }: { loading: boolean; error: Error | null; empty?: string }) {
  if (error) return <p role="alert" className="rounded-md border border-red-200 bg-red-50 p-3 text-sm text-red-800">{error.message}</p>;
  if (loading) return <div className="h-[300px] animate-pulse rounded-md bg-stone-100" aria-label="Loading chart" />;
  return empty ? <p className="p-3 text-sm text-stone-600">{empty}</p> : null;
}

export function ExperimentCharts({ experimentId, filter, columns, state, onChange, selected }: Props) {
  const [hovered, setHovered] = useState<string | null>(null);
  const set = (patch: Partial<ChartState>) => onChange({ ...state, ...patch });
  const keyOptions = useMemo(() => [
    ...columns.params.map((k) => `params.${k}`),
    ...columns.metrics.map((k) => `metrics.${k}`),
    ...CHART_ATTRIBUTES.map((k) => `attributes.${k}`),
  ], [columns]);
  const axisKeys = useMemo(() => [...state.axes.map((a) => `params.${a}`), ...(state.objective ? [`metrics.${state.objective}`] : [])], [state.axes, state.objective]);
  const runs = useChartRuns(experimentId, filter, [...axisKeys, state.x, state.y]);
  const histories = useChartHistories(experimentId, filter, state.metric);
  const importance = useImportance(experimentId, filter, state.objective, []);
  const names = useMemo(() => new Map((runs.data?.runs ?? []).map((r) => [r.run_id, r.run_name])), [runs.data]);
  const runIds = useMemo(() => (runs.data?.runs ?? []).map((r) => r.run_id), [runs.data]);
  const column = (key: string): Value[] => runs.data?.values[key] ?? [];
  const axes = useMemo(() => axisKeys.map((k) => ({ key: k, label: k.slice(k.indexOf(".") + 1), values: runs.data?.values[k] ?? [] })), [runs.data, axisKeys]);
  const unusedParams = columns.params.filter((p) => !state.axes.includes(p));

  if (columns.metrics.length === 0 && columns.params.length === 0) {
    return <p className="rounded-lg border border-stone-200 bg-white p-4 text-sm text-stone-600">No run of this experiment has logged params or metrics yet: charts appear once runs log them.</p>;
  }
  return (
    <div className="space-y-3" data-testid="experiment-charts">
      {runs.data && (
        <p className="text-sm text-stone-600" data-testid="charts-scope">
          Charting {runs.data.runs.length.toLocaleString()} runs{filter ? " that match the filter" : ""}
          {runs.data.truncated ? ` (the newest of ${runs.data.total.toLocaleString()}; narrow the filter to see the rest)` : ""}
          {selected.size > 0 ? ` · ${selected.size} selected in the table, drawn in amber` : ""}.
        </p>
      )}
      <Panel id="chart-lines" title="Metric over steps" actions={
        <label className="flex items-center gap-2">Metric
          <select className={SELECT} value={state.metric} onChange={(e) => set({ metric: e.target.value })} aria-label="Metric to chart over steps">
            {columns.metrics.map((k) => <option key={k}>{k}</option>)}
          </select>
        </label>
      }>
        {histories.data ? (
          histories.data.runs.length === 0
            ? <p className="p-3 text-sm text-stone-600">No run of this filter logged {state.metric}.</p>
            : <>
                <LinesChart data={histories.data} names={names} selected={selected} hovered={hovered} onHover={setHovered} />
                <p className="text-xs text-stone-500">{histories.data.runs.length.toLocaleString()} runs, at most {histories.data.points_per_run} points each (downsampled on the server, spikes kept).</p>
              </>
        ) : <Status loading={histories.isLoading} error={histories.error} empty={state.metric ? undefined : "No metrics logged yet."} />}
      </Panel>

      <Panel id="chart-parallel" title="Parallel coordinates" actions={
        <>
          <label className="flex items-center gap-2">Objective
            <select className={SELECT} value={state.objective} onChange={(e) => set({ objective: e.target.value })} aria-label="Objective metric">
              {columns.metrics.map((k) => <option key={k}>{k}</option>)}
            </select>
          </label>
          {unusedParams.length > 0 && (
            <label className="flex items-center gap-2">Add axis
              <select className={SELECT} value="" onChange={(e) => e.target.value && set({ axes: [...state.axes, e.target.value] })} aria-label="Add a param axis">
                <option value="">param…</option>
                {unusedParams.map((k) => <option key={k}>{k}</option>)}
              </select>
            </label>
          )}
        </>
      }>
        {state.axes.length > 0 && (
          <ul className="mb-2 flex flex-wrap gap-1.5" aria-label="Param axes">
            {state.axes.map((a) => (
              <li key={a} className="inline-flex items-center gap-1 rounded-full bg-stone-100 px-2 py-0.5 font-mono text-xs text-stone-700">
                {a}
                <button type="button" className="text-stone-500 hover:text-red-700" aria-label={`Remove axis ${a}`} onClick={() => set({ axes: state.axes.filter((x) => x !== a) })}>×</button>
              </li>
            ))}
          </ul>
        )}
        {runs.data && axes.length > 0
          ? <ParallelCoordinates runIds={runIds} names={names} axes={axes} selected={selected} hovered={hovered} onHover={setHovered} />
          : <Status loading={runs.isLoading} error={runs.error} empty="Pick an objective metric and at least one param." />}
      </Panel>

      <div className="grid gap-3 lg:grid-cols-2">
        <Panel id="chart-scatter" title="Scatter" actions={
          <>
            <label className="flex items-center gap-2">X
              <select className={SELECT} value={state.x} onChange={(e) => set({ x: e.target.value })} aria-label="Scatter X key">{keyOptions.map((k) => <option key={k}>{k}</option>)}</select>
            </label>
            <label className="flex items-center gap-2">Y
              <select className={SELECT} value={state.y} onChange={(e) => set({ y: e.target.value })} aria-label="Scatter Y key">{keyOptions.map((k) => <option key={k}>{k}</option>)}</select>
            </label>
          </>
        }>
          {runs.data
            ? <ScatterPlot runIds={runIds} names={names} x={{ key: state.x, values: column(state.x) }} y={{ key: state.y, values: column(state.y) }} selected={selected} hovered={hovered} onHover={setHovered} />
            : <Status loading={runs.isLoading} error={runs.error} />}
        </Panel>
        <Panel id="chart-importance" title={`Parameter importance for ${state.objective || "the objective"}`}>
          {importance.data ? <ImportanceBars data={importance.data} /> : <Status loading={importance.isLoading} error={importance.error} empty="Pick an objective metric." />}
        </Panel>
      </div>
    </div>
  );
}
