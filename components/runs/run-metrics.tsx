"use client";

import { useState } from "react";
import { ChartControls } from "@/components/charts/chart-controls";
import type { XMode } from "@/components/charts/metric-chart";
import { MetricChart } from "@/components/charts/metric-chart";
import { useMetricHistories } from "@/components/charts/use-metric-history";

/** One chart per metric of a run (the run page's default view); drag across a chart to zoom. */
export function RunMetrics({ runId, runName, keys }: { runId: string; runName: string; keys: string[] }) {
  const [xMode, setXMode] = useState<XMode>("step");
  const [smoothing, setSmoothing] = useState(0);
  const [zoom, setZoom] = useState<Record<string, { start: number; end: number } | undefined>>({});
  if (keys.length === 0) return <p className="text-sm text-stone-600">This run logged no metrics.</p>;
  return (
    <div className="space-y-3">
      <ChartControls xMode={xMode} onXMode={setXMode} smoothing={smoothing} onSmoothing={setSmoothing} />
      <div className="grid gap-3 md:grid-cols-2 2xl:grid-cols-3">
        {keys.slice(0, 30).map((key) => (
          <RunMetricChart key={key} runId={runId} runName={runName} metric={key} xMode={xMode} smoothing={smoothing} range={zoom[key]} onZoom={(r) => setZoom((z) => ({ ...z, [key]: r }))} />
        ))}
      </div>
      {keys.length > 30 && <p className="text-xs text-stone-500">Showing the first 30 of {keys.length} metrics.</p>}
    </div>
  );
}

function RunMetricChart(props: { runId: string; runName: string; metric: string; xMode: XMode; smoothing: number; range?: { start: number; end: number }; onZoom: (r: { start: number; end: number } | undefined) => void }) {
  const { series, isLoading, error } = useMetricHistories([{ id: props.runId, name: props.runName }], [props.metric], props.range);
  if (error) return <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800">{error}</div>;
  if (isLoading && series.length === 0) return <div aria-label={`Loading ${props.metric}`} className="h-[276px] animate-pulse rounded-lg border border-stone-200 bg-stone-100" />;
  return <MetricChart title={props.metric} series={series} xMode={props.xMode} smoothing={props.smoothing} onZoom={props.onZoom} zoomed={!!props.range} />;
}
