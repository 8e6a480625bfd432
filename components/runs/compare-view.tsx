"use client";

import Link from "next/link";
import { useMemo, useState } from "react";
import { CartesianGrid, ResponsiveContainer, Scatter, ScatterChart, Tooltip, XAxis, YAxis } from "recharts";
import { ChartControls } from "@/components/charts/chart-controls";
import type { XMode } from "@/components/charts/metric-chart";
import { MetricChart } from "@/components/charts/metric-chart";
import { useMetricHistories } from "@/components/charts/use-metric-history";
import type { MetricValue } from "@/lib/format-metric";
import { toNumber } from "@/lib/format-metric";
import { byHistoryLength } from "@/lib/metric-order";
import { formatMetric } from "./format";

type CompareRun = { id: string; name: string; experimentId: string; params: Record<string, string>; metrics: Record<string, MetricValue> };

function OverlaidChart({ runs, metric, xMode, smoothing }: { runs: CompareRun[]; metric: string; xMode: XMode; smoothing: number }) {
  const [range, setRange] = useState<{ start: number; end: number }>();
  const { series, isLoading, error } = useMetricHistories(runs.map((r) => ({ id: r.id, name: r.name })), [metric], range);
  if (error) return <div role="alert" className="rounded-lg border border-red-200 bg-red-50 p-3 text-sm text-red-800">{error}</div>;
  if (isLoading && series.length === 0) return <div className="h-[316px] animate-pulse rounded-lg border border-stone-200 bg-stone-100" />;
  return <MetricChart title={metric} series={series} xMode={xMode} smoothing={smoothing} height={280} onZoom={setRange} zoomed={!!range} />;
}

export function CompareView({ runs, historyPoints }: { runs: CompareRun[]; historyPoints: Record<string, number> }) {
  const paramKeys = useMemo(() => [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort(), [runs]);
  const metricKeys = useMemo(() => [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort(), [runs]);
  const [onlyDiff, setOnlyDiff] = useState(false);
  const [chosen, setChosen] = useState<string[]>(() => byHistoryLength(metricKeys, historyPoints).slice(0, 4));
  const [xMode, setXMode] = useState<XMode>("step");
  const [smoothing, setSmoothing] = useState(0);
  const [scatterX, setScatterX] = useState(paramKeys[0] ?? "");
  const [scatterY, setScatterY] = useState(metricKeys[0] ?? "");
  const differs = (k: string) => new Set(runs.map((r) => r.params[k] ?? "∅")).size > 1;
  const shownParams = onlyDiff ? paramKeys.filter(differs) : paramKeys;

  const categories = [...new Set(runs.map((r) => r.params[scatterX] ?? ""))].sort();
  const numericX = runs.every((r) => r.params[scatterX] === undefined || Number.isFinite(Number(r.params[scatterX])));
  const points = runs
    .filter((r) => r.params[scatterX] !== undefined && r.metrics[scatterY] !== undefined)
    .map((r) => ({ x: numericX ? Number(r.params[scatterX]) : categories.indexOf(r.params[scatterX]!), y: toNumber(r.metrics[scatterY]!), name: r.name }));

  return (
    <div className="space-y-8">
      <section aria-labelledby="cmp-params" className="space-y-2">
        <div className="flex items-center justify-between">
          <h2 id="cmp-params" className="text-lg font-semibold text-stone-900">Parameters</h2>
          <label className="flex items-center gap-2 text-sm"><input type="checkbox" checked={onlyDiff} onChange={(e) => setOnlyDiff(e.target.checked)} /> Only differences</label>
        </div>
        <div className="overflow-x-auto rounded-lg border border-stone-200 bg-white">
          <table className="min-w-full text-sm">
            <caption className="sr-only">Parameters by run</caption>
            <thead>
              <tr>
                <th scope="col" className="bg-stone-50 px-3 py-2 text-left text-xs font-semibold text-stone-600">Param</th>
                {runs.map((r) => <th key={r.id} scope="col" className="bg-stone-50 px-3 py-2 text-left text-xs font-semibold"><Link className="text-teal-800 hover:underline" href={`/runs/${r.id}`}>{r.name}</Link></th>)}
              </tr>
            </thead>
            <tbody className="divide-y divide-stone-100">
              {shownParams.map((k) => {
                const diff = differs(k);
                return (
                  <tr key={k} className={diff ? "bg-amber-50" : undefined} data-differs={diff ? "true" : undefined}>
                    <th scope="row" className="px-3 py-1.5 text-left font-mono text-xs font-normal">{k}{diff && <span className="sr-only"> (differs)</span>}</th>
                    {runs.map((r) => <td key={r.id} className={`px-3 py-1.5 font-mono text-xs ${diff ? "font-semibold text-amber-900" : "text-stone-700"}`}>{r.params[k] ?? "—"}</td>)}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="cmp-metrics" className="space-y-3">
        <h2 id="cmp-metrics" className="text-lg font-semibold text-stone-900">Metrics</h2>
        <div className="overflow-x-auto rounded-lg border border-stone-200 bg-white">
          <table className="min-w-full text-sm">
            <caption className="sr-only">Latest metrics by run</caption>
            <thead>
              <tr>
                <th scope="col" className="bg-stone-50 px-3 py-2 text-left text-xs font-semibold text-stone-600">Metric</th>
                {runs.map((r) => <th key={r.id} scope="col" className="bg-stone-50 px-3 py-2 text-right text-xs font-semibold">{r.name}</th>)}
              </tr>
            </thead>
            <tbody className="divide-y divide-stone-100">
              {metricKeys.map((k) => (
                <tr key={k}>
                  <th scope="row" className="px-3 py-1.5 text-left font-normal">
                    <label className="flex items-center gap-2 font-mono text-xs">
                      <input type="checkbox" checked={chosen.includes(k)} onChange={() => setChosen((c) => (c.includes(k) ? c.filter((x) => x !== k) : [...c, k]))} aria-label={`Chart ${k}`} />
                      {k}
                    </label>
                  </th>
                  {runs.map((r) => <td key={r.id} className="px-3 py-1.5 text-right font-mono text-xs tabular-nums">{formatMetric(r.metrics[k])}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <ChartControls xMode={xMode} onXMode={setXMode} smoothing={smoothing} onSmoothing={setSmoothing} />
        <div className="grid gap-3 lg:grid-cols-2">
          {chosen.map((k) => <OverlaidChart key={k} runs={runs} metric={k} xMode={xMode} smoothing={smoothing} />)}
        </div>
      </section>

      <section aria-labelledby="cmp-scatter" className="space-y-3">
        <h2 id="cmp-scatter" className="text-lg font-semibold text-stone-900">Parameter vs. metric</h2>
        <div className="flex flex-wrap gap-4 text-sm">
          <label className="flex items-center gap-2">X (param)
            <select value={scatterX} onChange={(e) => setScatterX(e.target.value)} className="rounded-md border border-stone-300 px-2 py-1">{paramKeys.map((k) => <option key={k}>{k}</option>)}</select>
          </label>
          <label className="flex items-center gap-2">Y (metric)
            <select value={scatterY} onChange={(e) => setScatterY(e.target.value)} className="rounded-md border border-stone-300 px-2 py-1">{metricKeys.map((k) => <option key={k}>{k}</option>)}</select>
          </label>
        </div>
        <figure className="rounded-lg border border-stone-200 bg-white p-3" aria-label={`Scatter of ${scatterY} against ${scatterX}`}>
          <div style={{ height: 300 }}>
            <ResponsiveContainer width="100%" height="100%">
              <ScatterChart margin={{ top: 10, right: 20, bottom: 10, left: 0 }}>
                <CartesianGrid stroke="#e7e5e4" strokeDasharray="3 3" />
                <XAxis dataKey="x" type="number" name={scatterX} fontSize={11} domain={["auto", "auto"]} tickFormatter={(v: number) => (numericX ? String(v) : categories[v] ?? "")} ticks={numericX ? undefined : categories.map((_, i) => i)} />
                <YAxis dataKey="y" type="number" name={scatterY} fontSize={11} domain={["auto", "auto"]} width={56} />
                <Tooltip formatter={(v, n) => [String(n === scatterX && !numericX ? categories[Number(v)] : v), String(n)]} />
                <Scatter data={points} fill="#0f766e" />
              </ScatterChart>
            </ResponsiveContainer>
          </div>
        </figure>
      </section>
    </div>
  );
}
