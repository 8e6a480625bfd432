"use client";

// The experiment's chart panel over every run of the runs table's filter: a metric over steps, parallel coordinates
// of params → objective, a scatter of any two keys and parameter importance. Hovering a run in one chart highlights
// it in all; the table's selected runs stand out everywhere. Brushes (axis ranges, a scatter rectangle) grey out the
// runs outside them in every panel and narrow the runs table. The choices live in the URL (lib/chart-state.ts).
import { useMemo, useState } from "react";
import type { ChartBrush } from "@/lib/chart-brush";
import { describeBrush, inBrush, unfilterableReason } from "@/lib/chart-brush";
import type { ChartState } from "@/lib/chart-state";
import type { Value } from "@/lib/chart-scales";
import type { ChartKey } from "@/lib/schemas/charts";
import { CHART_ATTRIBUTES } from "@/lib/schemas/charts";
import { buttonClass } from "@/components/ui/button";
import { BrushForm } from "./brush-form";
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
  const runs = useChartRuns(experimentId, filter, [...axisKeys, state.x, state.y, ...state.brushes.map((b) => b.key)]);
  const histories = useChartHistories(experimentId, filter, state.metric);
  const importance = useImportance(experimentId, filter, state.objective, []);
  const names = useMemo(() => new Map((runs.data?.runs ?? []).map((r) => [r.run_id, r.run_name])), [runs.data]);
  const runIds = useMemo(() => (runs.data?.runs ?? []).map((r) => r.run_id), [runs.data]);
  const column = (key: string): Value[] => runs.data?.values[key] ?? [];
  const axes = useMemo(() => axisKeys.map((k) => ({ key: k, label: k.slice(k.indexOf(".") + 1), values: runs.data?.values[k] ?? [] })), [runs.data, axisKeys]);
  const unusedParams = columns.params.filter((p) => !state.axes.includes(p));
  const [brushNote, setBrushNote] = useState<string | null>(null);
  // Per charted run, whether it lies inside every brush (as the table's search decides it); null without brushes.
  const inBrushes = useMemo(() => {
    if (!runs.data || state.brushes.length === 0) return null;
    const { values } = runs.data;
    // A brush whose key's values are still loading (the previous answer is shown meanwhile) does not grey anything.
    return runs.data.runs.map((_, i) => state.brushes.every((b) => values[b.key] === undefined || inBrush(b, values[b.key]![i] ?? null)));
  }, [runs.data, state.brushes]);
  const brushed = useMemo(() => (inBrushes ? new Set(runIds.filter((_, i) => inBrushes[i])) : null), [inBrushes, runIds]);
  function setBrushes(changes: { key: ChartKey; brush: ChartBrush | null }[]) {
    let next = state.brushes;
    const refused: string[] = [];
    for (const { key, brush } of changes) {
      const why = brush && unfilterableReason(key, brush.kind);
      if (why) { refused.push(`${key} cannot narrow the runs table (${why})`); continue; }
      next = [...next.filter((b) => b.key !== key), ...(brush ? [brush] : [])];
    }
    setBrushNote(refused.length > 0 ? `Not brushed: ${refused.join("; ")}.` : null);
    if (next !== state.brushes) set({ brushes: next });
  }
  const setBrush = (key: ChartKey, brush: ChartBrush | null) => setBrushes([{ key, brush }]);
  const brushAxes = useMemo(() => [...new Set([...axisKeys, state.x, state.y])].map((key) => ({ key: key as ChartKey, values: runs.data?.values[key] ?? [] })), [axisKeys, state.x, state.y, runs.data]);

  if (columns.metrics.length === 0 && columns.params.length === 0) {
    return <p className="rounded-lg border border-stone-200 bg-white p-4 text-sm text-stone-600">No run of this experiment has logged params or metrics yet: charts appear once runs log them.</p>;
  }
  return (
    <div className="space-y-3" data-testid="experiment-charts">
      {runs.data && (
        <p className="text-sm text-stone-600" data-testid="charts-scope">
          Charting {runs.data.runs.length.toLocaleString()} runs{filter ? " that match the filter" : ""}
          {runs.data.truncated ? ` (the newest of ${runs.data.total.toLocaleString()}; narrow the filter to see the rest)` : ""}
          {selected.size > 0 ? ` · ${selected.size} selected in the table, drawn in amber` : ""}
          {brushed ? ` · ${brushed.size.toLocaleString()} inside the brushes, the rest in grey` : ""}.
        </p>
      )}
      {(state.brushes.length > 0 || brushNote) && (
        <div className="flex flex-wrap items-center gap-2 text-sm" data-testid="chart-brushes">
          {state.brushes.length > 0 && (
            <>
              <span className="text-stone-600">Brushes</span>
              <ul className="flex flex-wrap gap-1.5" aria-label="Chart brushes">
                {state.brushes.map((b) => (
                  <li key={b.key} className="inline-flex items-center gap-1 rounded-full bg-teal-50 px-2 py-0.5 text-xs text-teal-900 ring-1 ring-teal-200">
                    <span className="font-mono">{b.key}</span> {describeBrush(b)}
                    <button type="button" className="text-teal-700 hover:text-red-700" aria-label={`Remove the brush on ${b.key}`} onClick={() => setBrush(b.key, null)}>×</button>
                  </li>
                ))}
              </ul>
              <button type="button" className={buttonClass("secondary", "sm")} onClick={() => setBrushes(state.brushes.map((b) => ({ key: b.key, brush: null })))}>Clear brushes</button>
            </>
          )}
          {brushNote && <p role="status" className="w-full text-xs text-amber-800">{brushNote}</p>}
        </div>
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
                <LinesChart data={histories.data} names={names} selected={selected} hovered={hovered} onHover={setHovered} brushed={brushed} />
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
          ? <ParallelCoordinates runIds={runIds} names={names} axes={axes} selected={selected} hovered={hovered} onHover={setHovered} brushes={state.brushes} inBrushes={inBrushes} onBrush={setBrush} />
          : <Status loading={runs.isLoading} error={runs.error} empty="Pick an objective metric and at least one param." />}
        {runs.data && <BrushForm axes={brushAxes} brushes={state.brushes} onBrush={setBrush} />}
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
            ? <ScatterPlot runIds={runIds} names={names} x={{ key: state.x, values: column(state.x) }} y={{ key: state.y, values: column(state.y) }} selected={selected} hovered={hovered} onHover={setHovered} brushes={state.brushes} inBrushes={inBrushes} onBrush={setBrushes} />
            : <Status loading={runs.isLoading} error={runs.error} />}
        </Panel>
        <Panel id="chart-importance" title={`Parameter importance for ${state.objective || "the objective"}`}>
          {importance.data ? <ImportanceBars data={importance.data} /> : <Status loading={importance.isLoading} error={importance.error} empty="Pick an objective metric." />}
        </Panel>
      </div>
    </div>
  );
}
