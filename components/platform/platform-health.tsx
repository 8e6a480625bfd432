"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Chart } from "@/components/deployments/traffic-charts";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { TeamBars } from "./team-bars";
import type { MetricsPoint as Point } from "@/lib/schemas/deployments";
import type { PlatformHealth } from "@/lib/schemas/platform";

const WINDOWS = ["15m", "1h", "6h", "24h", "7d", "30d"] as const;
const STORAGE_TYPES = [["artifacts", "Artifacts"], ["code_archives", "Code archives"], ["pinned_versions", "Pinned versions"]] as const;

async function load(window: string): Promise<PlatformHealth> {
  const res = await fetch(`/api/v1/platform/health?window=${window}`);
  const body = (await res.json()) as PlatformHealth | { error: { message: string } };
  if (!res.ok) throw new Error("error" in body ? body.error.message : `HTTP ${res.status}`);
  return body as PlatformHealth;
}

export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${v.toFixed(1)} ${units[i]}`;
}

const ms = (v: number | null) => (v === null ? "—" : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);
const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)} %`);
const seconds = (v: number | null) => (v === null ? "—" : v < 90 ? `${Math.round(v)} s` : v < 5400 ? `${Math.round(v / 60)} min` : `${(v / 3600).toFixed(1)} h`);
const percentOf = (points: Point[]): Point[] => points.map(([t, v]) => [t, v === null ? null : Math.round(v * 1000) / 10]);

function sourceText(h: PlatformHealth): string {
  const every = h.step_seconds >= 120 && h.step_seconds % 60 === 0 ? `${h.step_seconds / 60} min` : `${h.step_seconds} s`;
  return h.source === "prometheus"
    ? `From Prometheus (the platform_* series it scraped from /api/metrics) — a point every ${every}.`
    : `From Cairn's own per-minute rollups of API requests and minute samples of the queue and active users (kept 30 days) — a point every ${every}.`;
}

function Figure({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="rounded-lg border border-stone-200 bg-white px-3 py-2">
      <dt className="text-xs text-stone-600">{label}</dt>
      <dd className="text-lg font-semibold text-stone-900">{value}</dd>
      {hint && <dd className="text-xs text-stone-500">{hint}</dd>}
    </div>
  );
}

/** The platform's own health for admins: API, job queue, active users, storage and GPUs, refreshed every 15 s. */
export function PlatformHealthView({ initial }: { initial: PlatformHealth }) {
  const [window, setWindow] = useState<string>(initial.window);
  const { data, error, isFetching } = useQuery({
    queryKey: ["platform-health", window],
    queryFn: () => load(window),
    initialData: window === initial.window ? initial : undefined,
    refetchInterval: 15_000,
    retry: false,
  });
  const h = data;
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-center gap-3 text-sm">
        <label htmlFor="platform-window" className="text-stone-600">Window</label>
        <select id="platform-window" value={window} onChange={(e) => setWindow(e.target.value)} className="rounded-md border border-stone-300 bg-white px-2 py-1 text-sm">
          {WINDOWS.map((w) => <option key={w} value={w}>{w}</option>)}
        </select>
        {isFetching && <span className="text-xs text-stone-500">Refreshing…</span>}
      </div>
      {error && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">{error.message}</p>}
      {!h && !error && <p className="text-sm text-stone-500">Loading platform health…</p>}
      {h && (
        <>
          <p className="text-xs text-stone-500" data-testid="platform-source">{sourceText(h)}</p>
          {h.notice && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">{h.notice}</p>}

          <section aria-labelledby="platform-api" className="space-y-3">
            <h2 id="platform-api" className="text-sm font-semibold text-stone-900">API</h2>
            <dl className="grid grid-cols-2 gap-3 md:grid-cols-4">
              <Figure label={`Requests (last ${h.window})`} value={h.api.requests.toLocaleString("en-US")} />
              <Figure label="Error share (5xx)" value={pct(h.api.error_rate)} hint={`${h.api.errors} errors`} />
              <Figure label="Latency p50 / p95" value={`${ms(h.api.latency_p50_ms)} / ${ms(h.api.latency_p95_ms)}`} />
              <Figure label="Latency p99" value={ms(h.api.latency_p99_ms)} />
            </dl>
            <div className="grid gap-3 lg:grid-cols-3">
              <Chart title="API requests per second" unit="" lines={[{ name: "requests/s", color: "#0f766e", points: h.api.series.requests_per_second }]} />
              <Chart
                title="API latency (ms)" unit=" ms"
                lines={[
                  { name: "p50", color: "#0f766e", points: h.api.series.latency_p50_ms },
                  { name: "p95", color: "#b45309", points: h.api.series.latency_p95_ms },
                  { name: "p99", color: "#be123c", points: h.api.series.latency_p99_ms },
                ]}
              />
              <Chart title="API errors (5xx share, %)" unit=" %" lines={[{ name: "errors", color: "#be123c", points: percentOf(h.api.series.error_rate) }]} />
            </div>
            <Table caption={`Busiest endpoints, last ${h.window}`}>
              <thead>
                <tr><Th>Endpoint</Th><Th>Method</Th><Th className="text-right">Requests</Th><Th className="text-right">Per second</Th><Th className="text-right">5xx share</Th><Th className="text-right">4xx</Th><Th className="text-right">p50</Th><Th className="text-right">p95</Th><Th className="text-right">p99</Th></tr>
              </thead>
              <tbody className="divide-y divide-stone-100">
                {h.api.endpoints.length === 0 && <EmptyRow colSpan={9}>No API requests in this window yet. Requests from the portal, the CLI and the SDK show here within seconds.</EmptyRow>}
                {h.api.endpoints.map((e) => (
                  <tr key={`${e.method} ${e.endpoint}`}>
                    <Td className="font-mono text-xs break-all">{e.endpoint}</Td>
                    <Td className="font-mono text-xs">{e.method}</Td>
                    <Td className="text-right tabular-nums">{e.requests.toLocaleString("en-US")}</Td>
                    <Td className="text-right tabular-nums">{e.requests_per_second.toFixed(e.requests_per_second < 1 ? 3 : 1)}</Td>
                    <Td className={`text-right tabular-nums ${(e.error_rate ?? 0) > 0 ? "font-medium text-red-800" : ""}`}>{pct(e.error_rate)}</Td>
                    <Td className="text-right tabular-nums">{e.client_errors}</Td>
                    <Td className="text-right tabular-nums">{ms(e.latency_p50_ms)}</Td>
                    <Td className="text-right tabular-nums">{ms(e.latency_p95_ms)}</Td>
                    <Td className="text-right tabular-nums">{ms(e.latency_p99_ms)}</Td>
                  </tr>
                ))}
              </tbody>
            </Table>
          </section>

          <section aria-labelledby="platform-queue" className="space-y-3">
            <h2 id="platform-queue" className="text-sm font-semibold text-stone-900">Job queue</h2>
            <dl className="grid grid-cols-2 gap-3 md:grid-cols-4">
              <Figure label="Waiting now" value={String(h.queue.depth)} hint={`${h.queue.running} running`} />
              <Figure label="Longest wait now" value={seconds(h.queue.oldest_wait_seconds)} />
              <Figure label={`Started (last ${h.window})`} value={String(h.queue.started)} />
              <Figure label="Mean wait to start" value={seconds(h.queue.wait_mean_seconds)} hint={h.queue.wait_max_seconds === null ? undefined : `longest ${seconds(h.queue.wait_max_seconds)}`} />
            </dl>
            <div className="grid gap-3 lg:grid-cols-2">
              <Chart title="Jobs waiting" unit="" lines={[{ name: "waiting", color: "#b45309", points: h.queue.series.depth }]} />
              <Chart
                title="Queue wait (s)" unit=" s"
                lines={[
                  { name: "longest waiting", color: "#b45309", points: h.queue.series.oldest_wait_seconds },
                  { name: "mean wait of started jobs", color: "#0f766e", points: h.queue.series.wait_mean_seconds },
                ]}
              />
            </div>
          </section>

          <section aria-labelledby="platform-users" className="space-y-3">
            <h2 id="platform-users" className="text-sm font-semibold text-stone-900">Active users</h2>
            <dl className="grid grid-cols-2 gap-3 md:grid-cols-4">
              <Figure label="Last 15 minutes" value={String(h.active_users.last_15m)} />
              <Figure label="Last hour" value={String(h.active_users.last_hour)} />
            </dl>
            <Chart title="Active users (an API request or page view in the 15 minutes before)" unit="" lines={[{ name: "users", color: "#0f766e", points: h.active_users.series }]} />
          </section>

          <div className="grid gap-6 xl:grid-cols-2">
            <section aria-labelledby="platform-storage" className="space-y-2">
              <h2 id="platform-storage" className="text-sm font-semibold text-stone-900">Storage by team</h2>
              <TeamBars
                title="Storage by team and type"
                rows={[...new Set(h.storage.map((x) => x.team))].sort().map((team) => ({ team, ...Object.fromEntries(h.storage.filter((x) => x.team === team).map((x) => [x.type, x.bytes])) }))}
                series={[{ key: "artifacts", name: "Artifacts", color: "#0f766e" }, { key: "code_archives", name: "Code archives", color: "#b45309" }, { key: "pinned_versions", name: "Pinned versions", color: "#6d28d9" }]}
                format={formatBytes}
              />
              <StorageTable storage={h.storage} />
            </section>
            <section aria-labelledby="platform-gpus" className="space-y-2">
              <h2 id="platform-gpus" className="text-sm font-semibold text-stone-900">GPUs by team</h2>
              <TeamBars title="GPUs held by running jobs" rows={h.gpus.teams.map((g) => ({ team: g.team, allocated: g.allocated }))} series={[{ key: "allocated", name: "GPUs", color: "#0f766e" }]} format={(v) => String(v)} />
              <Table caption="GPUs held by running jobs">
                <thead><tr><Th>Team</Th><Th className="text-right">GPUs allocated</Th><Th className="text-right">Share of this host&apos;s GPUs</Th></tr></thead>
                <tbody className="divide-y divide-stone-100">
                  {h.gpus.teams.length === 0 && <EmptyRow colSpan={3}>No teams yet.</EmptyRow>}
                  {h.gpus.teams.map((g) => (
                    <tr key={g.team}><Td className="font-mono text-xs">{g.team}</Td><Td className="text-right tabular-nums">{g.allocated}</Td><Td className="text-right tabular-nums">{pct(g.utilization)}</Td></tr>
                  ))}
                </tbody>
              </Table>
              <p className="text-xs text-stone-500">
                {h.gpus.capacity > 0 ? `This host has ${h.gpus.capacity} GPUs; the share is what running jobs hold, not measured utilization.` : "This host has no GPUs: shares are not computed (allocations still show)."}
              </p>
              <GpuUseTable rows={h.gpus.nodes} />
            </section>
          </div>
        </>
      )}
    </div>
  );
}

const SOURCE_TEXT = {
  measured: "Measured",
  allocated: "Allocated",
} as const;

/** GPU use by team and node now, each row saying whether it was measured (DCGM exporter) or is the allocated share. */
function GpuUseTable({ rows }: { rows: PlatformHealth["gpus"]["nodes"] }) {
  const measured = rows.some((r) => r.source === "measured");
  return (
    <>
      <Table caption="GPU use by team and node">
        <thead><tr><Th>Team</Th><Th>Node</Th><Th className="text-right">Share of the node&apos;s GPUs</Th><Th>Source</Th></tr></thead>
        <tbody className="divide-y divide-stone-100">
          {rows.length === 0 && <EmptyRow colSpan={4}>No GPU in use on a node Cairn can see.</EmptyRow>}
          {rows.map((r) => (
            <tr key={`${r.team} ${r.node}`}>
              <Td className="font-mono text-xs">{r.team}</Td><Td className="font-mono text-xs">{r.node}</Td>
              <Td className="text-right tabular-nums">{pct(r.utilization)}</Td><Td>{SOURCE_TEXT[r.source]}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
      <p className="text-xs text-stone-500">
        {measured
          ? "Measured: the NVIDIA DCGM exporter's utilization of the GPUs the team's pods hold, over the node's GPUs (read from PROMETHEUS_URL). Allocated: GPUs held over the node's GPUs, where the exporter has no series."
          : "Allocated: GPUs the team's running jobs hold over the node's GPUs. On Kubernetes with PROMETHEUS_URL and NVIDIA's DCGM exporter, this becomes measured utilization."}
      </p>
    </>
  );
}

function StorageTable({ storage }: { storage: PlatformHealth["storage"] }) {
  const teams = [...new Set(storage.map((s) => s.team))].sort();
  const bytes = (team: string, type: string) => storage.find((s) => s.team === team && s.type === type)?.bytes ?? 0;
  return (
    <Table caption="Storage by team and type">
      <thead><tr><Th>Team</Th>{STORAGE_TYPES.map(([, label]) => <Th key={label} className="text-right">{label}</Th>)}<Th className="text-right">Total</Th></tr></thead>
      <tbody className="divide-y divide-stone-100">
        {teams.length === 0 && <EmptyRow colSpan={5}>No teams yet.</EmptyRow>}
        {teams.map((team) => (
          <tr key={team}>
            <Td className="font-mono text-xs">{team}</Td>
            {STORAGE_TYPES.map(([type]) => <Td key={type} className="text-right tabular-nums">{formatBytes(bytes(team, type))}</Td>)}
            <Td className="text-right font-medium tabular-nums">{formatBytes(STORAGE_TYPES.reduce((n, [type]) => n + bytes(team, type), 0))}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
