"use client";

import { useMemo, useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ReferenceArea, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { Series } from "./use-metric-history";
import { formatCount } from "@/lib/format";

export type XMode = "step" | "wall" | "relative";
const COLORS = ["#0f766e", "#b45309", "#4338ca", "#be123c", "#0369a1", "#4d7c0f", "#7e22ce", "#c2410c", "#0e7490", "#a16207"];

/** Exponential moving average, as in TensorBoard's smoothing slider (0 = raw). */
export function smooth(values: number[], weight: number): number[] {
  if (weight <= 0) return values;
  let last = Number.NaN;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = Number.isNaN(last) ? v : last * weight + (1 - weight) * v;
    return last;
  });
}

function xOf(p: { step: number; timestamp: number }, mode: XMode, t0: number): number {
  return mode === "step" ? p.step : mode === "wall" ? p.timestamp : (p.timestamp - t0) / 1000;
}

function formatX(v: number, mode: XMode): string {
  if (mode === "wall") return new Date(v).toISOString().slice(11, 19);
  if (mode === "relative") return v < 120 ? `${Math.round(v)}s` : `${(v / 60).toFixed(1)}m`;
  return String(v);
}

type Props = {
  title: string;
  series: Series[];
  xMode: XMode;
  smoothing: number;
  height?: number;
  /** Called with a step range when the user drags to zoom (step mode only). */
  onZoom?: (range: { start: number; end: number } | undefined) => void;
  zoomed?: boolean;
  labelBy?: "run" | "key";
};

export function MetricChart({ title, series, xMode, smoothing, height = 240, onZoom, zoomed, labelBy = "run" }: Props) {
  const [drag, setDrag] = useState<{ from?: number; to?: number }>({});
  const lines = useMemo(() => series.map((s, i) => {
    const t0 = s.points[0]?.timestamp ?? 0;
    const smoothed = smooth(s.points.map((p) => p.value), smoothing);
    return {
      name: labelBy === "run" ? s.runName : s.key,
      color: COLORS[i % COLORS.length]!,
      data: s.points.map((p, j) => ({ x: xOf(p, xMode, t0), y: Number.isFinite(smoothed[j]!) ? smoothed[j] : null })),
      sampled: s.sampled,
      total: s.total,
    };
  }), [series, xMode, smoothing, labelBy]);
  const sampled = lines.some((l) => l.sampled);
  const totalPoints = lines.reduce((n, l) => n + l.total, 0);
  return (
    <figure className="rounded-lg border border-stone-200 bg-white p-3" aria-label={`Chart of ${title}`}>
      <figcaption className="mb-1 flex items-center justify-between gap-2 text-sm">
        <span className="font-mono font-medium text-stone-800">{title}</span>
        <span className="text-xs text-stone-500">
          {sampled ? `downsampled from ${formatCount(totalPoints, "point")} (extremes kept)` : formatCount(totalPoints, "point")}
          {zoomed && onZoom && <button type="button" className="ml-2 text-teal-800 underline" onClick={() => onZoom(undefined)}>reset zoom</button>}
        </span>
      </figcaption>
      <div style={{ height }}>
        <ResponsiveContainer width="100%" height="100%">
          <LineChart
            margin={{ top: 5, right: 12, bottom: 0, left: 0 }}
            onMouseDown={(e) => { if (onZoom && xMode === "step" && e?.activeLabel !== undefined) setDrag({ from: Number(e.activeLabel) }); }}
            onMouseMove={(e) => { if (drag.from !== undefined && e?.activeLabel !== undefined) setDrag((d) => ({ ...d, to: Number(e.activeLabel) })); }}
            onMouseUp={() => {
              if (onZoom && drag.from !== undefined && drag.to !== undefined && drag.from !== drag.to) {
                onZoom({ start: Math.min(drag.from, drag.to), end: Math.max(drag.from, drag.to) });
              }
              setDrag({});
            }}
          >
            <CartesianGrid stroke="#e7e5e4" strokeDasharray="3 3" />
            <XAxis dataKey="x" type="number" domain={["dataMin", "dataMax"]} tickFormatter={(v: number) => formatX(v, xMode)} allowDuplicatedCategory={false} fontSize={11} />
            <YAxis fontSize={11} width={56} domain={["auto", "auto"]} tickFormatter={(v: number) => (Math.abs(v) >= 1000 ? v.toExponential(1) : String(Number(v.toPrecision(3))))} />
            <Tooltip labelFormatter={(v) => `${xMode === "step" ? "step " : ""}${formatX(Number(v), xMode)}`} formatter={(v) => (typeof v === "number" ? v.toPrecision(5) : String(v))} />
            {lines.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
            {lines.map((l) => (
              <Line key={l.name} data={l.data} dataKey="y" name={l.name} stroke={l.color} dot={false} isAnimationActive={false} strokeWidth={1.6} connectNulls />
            ))}
            {drag.from !== undefined && drag.to !== undefined && <ReferenceArea x1={drag.from} x2={drag.to} strokeOpacity={0.3} fill="#0f766e" fillOpacity={0.1} />}
          </LineChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}
