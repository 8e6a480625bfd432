"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { DeploymentMetrics as Metrics, MetricsPoint as Point } from "@/lib/schemas/deployments";

const WINDOWS = ["15m", "1h", "6h", "24h", "7d"] as const;

async function load(id: string, window: string): Promise<Metrics> {
  const res = await fetch(`/api/v1/deployments/${id}/metrics?window=${window}`);
  const body = (await res.json()) as Metrics | { error: { message: string } };
  if (!res.ok) throw new Error("error" in body ? body.error.message : `HTTP ${res.status}`);
  return body as Metrics;
}

const time = (t: number) => new Date(t * 1000).toISOString().slice(11, 16);

/** A small line chart of [unix seconds, value] series sharing their timestamps (the Platform page uses it too). */
export function Chart({ title, lines, unit }: { title: string; lines: { name: string; color: string; points: Point[] }[]; unit: string }) {
  const data = (lines[0]?.points ?? []).map(([t], i) => Object.fromEntries([["t", t], ...lines.map((l) => [l.name, l.points[i]?.[1] ?? null])]));
  return (
    <figure className="rounded-lg border border-stone-200 bg-white p-3" aria-label={`Chart of ${title}`}>
      <figcaption className="mb-1 text-sm font-medium text-stone-800">{title}</figcaption>
      <ResponsiveContainer width="100%" height={180}>
        <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e7e5e4" strokeDasharray="3 3" />
          <XAxis dataKey="t" tickFormatter={time} fontSize={11} minTickGap={40} />
          <YAxis fontSize={11} width={48} unit={unit} />
          <Tooltip labelFormatter={(t) => time(Number(t))} formatter={(v) => (v === null ? "—" : `${String(v)}${unit}`)} />
          {lines.length > 1 && <Legend wrapperStyle={{ fontSize: 11 }} />}
          {lines.map((l) => <Line key={l.name} dataKey={l.name} stroke={l.color} dot={false} isAnimationActive={false} connectNulls={false} />)}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

/** About how many answers the window holds. A rollup point covers [t, t + step): the last one only the seconds gone so far. */
function requestsIn(m: Metrics): number {
  const points = m.series.requests_per_second;
  return points.reduce((n, [t, v], i) => {
    const seconds = m.source === "cairn" && i === points.length - 1 ? Math.min(m.step_seconds, Math.max(1, Date.now() / 1000 - t)) : m.step_seconds;
    return n + (v ?? 0) * seconds;
  }, 0);
}

/** Where the figures come from, in plain words. */
function sourceText(m: Metrics): string {
  const every = m.step_seconds >= 120 && m.step_seconds % 60 === 0 ? `${m.step_seconds / 60} min` : `${m.step_seconds} s`;
  return m.source === "prometheus"
    ? `From Prometheus — a point every ${every}.`
    : `From Cairn's own per-minute rollups of the gateway's answers (kept 30 days) — a point every ${every}.`;
}

/** Request rate, latency percentiles and error share of a deployment (from Prometheus or Cairn's own rollups), refreshed every 15 s. */
export function TrafficCharts({ id }: { id: string }) {
  const [window, setWindow] = useState<string>("1h");
  const { data, error, isLoading } = useQuery({ queryKey: ["deployment-metrics", id, window], queryFn: () => load(id, window), refetchInterval: 15_000, retry: false });
  const total = data ? requestsIn(data) : 0;
  const worstErrors = data ? Math.max(0, ...data.series.error_rate.map(([, v]) => v ?? 0)) : 0;
  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label htmlFor="traffic-window" className="text-stone-600">Window</label>
        <select id="traffic-window" value={window} onChange={(e) => setWindow(e.target.value)} className="rounded-md border border-stone-300 bg-white px-2 py-1 text-sm">
          {WINDOWS.map((w) => <option key={w} value={w}>{w}</option>)}
        </select>
        {data && <span className="text-stone-600">≈ {Math.round(total)} requests · worst error rate {(worstErrors * 100).toFixed(1)} %</span>}
      </div>
      {data && <p className="text-xs text-stone-500">{sourceText(data)}</p>}
      {data?.notice && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">{data.notice}</p>}
      {isLoading && <p className="text-sm text-stone-500">Loading metrics…</p>}
      {error && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">{error.message}</p>}
      {data && (
        <div className="grid gap-3 lg:grid-cols-2">
          <Chart title="Requests per second" unit="" lines={[{ name: "requests/s", color: "#0f766e", points: data.series.requests_per_second }]} />
          <Chart
            title="Latency (gateway, ms)" unit=" ms"
            lines={[
              { name: "p50", color: "#0f766e", points: data.series.latency_p50_ms },
              { name: "p95", color: "#b45309", points: data.series.latency_p95_ms },
              { name: "p99", color: "#be123c", points: data.series.latency_p99_ms },
            ]}
          />
          <Chart title="Error rate (5xx share, %)" unit=" %" lines={[{ name: "errors", color: "#be123c", points: data.series.error_rate.map(([t, v]) => [t, v === null ? null : Math.round(v * 1000) / 10]) }]} />
          <p className="sr-only">
            Over the last {data.window}: about {Math.round(total)} requests, worst error rate {(worstErrors * 100).toFixed(1)} %, highest p95 latency {Math.max(0, ...data.series.latency_p95_ms.map(([, v]) => v ?? 0)).toFixed(1)} ms.
          </p>
        </div>
      )}
    </div>
  );
}
