"use client";

// The deployment page's Monitoring section: drift per feature over time (PSI per window), the reference beside
// the live distribution of a chosen feature, data quality (missing, invalid), and the sample rate — refreshed
// every 30 s; the first render comes from the server.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import type { ActionResult } from "@/lib/action-result";
import type { DriftDto, DriftFeatureDto } from "@/lib/schemas/drift";
import { PREDICTION_FEATURE } from "@/lib/schemas/drift";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";

const RANGES = [{ hours: 24, label: "24 hours" }, { hours: 168, label: "7 days" }, { hours: 720, label: "30 days" }] as const;
const COLORS = ["#0f766e", "#b45309", "#be123c", "#4338ca", "#15803d", "#a21caf", "#0369a1", "#78716c", "#ca8a04", "#db2777", "#0d9488", "#7c3aed"];
/** At most this many features are drawn in the drift-over-time chart (the most drifted). */
const MAX_LINES = 12;

async function load(id: string, hours: number): Promise<DriftDto> {
  const res = await fetch(`/api/v1/deployments/${id}/drift?hours=${hours}`);
  const body = (await res.json()) as DriftDto | { error: { message: string } };
  if (!res.ok) throw new Error("error" in body ? body.error.message : `HTTP ${res.status}`);
  return body as DriftDto;
}

const label = (name: string) => (name === PREDICTION_FEATURE ? "prediction" : name);
const percent = (n: number) => `${(n * 100).toFixed(1)} %`;
const time = (iso: string) => iso.slice(5, 16).replace("T", " ");

/** The usual reading of a PSI: under 0.1 stable, up to 0.25 moderate, above significant (said in words, not only color). */
export function psiLevel(psi: number | null): { text: string; tone: "green" | "amber" | "red" | "neutral" } {
  if (psi === null) return { text: "no data", tone: "neutral" };
  if (psi < 0.1) return { text: "stable", tone: "green" };
  if (psi <= 0.25) return { text: "moderate shift", tone: "amber" };
  return { text: "significant shift", tone: "red" };
}

function SampleRateForm({ id, rate, setRate }: { id: string; rate: number; setRate: (input: { id: string; sample_rate: number }) => Promise<ActionResult<number>> }) {
  const router = useRouter();
  const queries = useQueryClient();
  const [value, setValue] = useState(String(Math.round(rate * 1000) / 10));
  const [error, setError] = useState<string>();
  const [pending, startTransition] = useTransition();
  return (
    <form
      className="flex flex-wrap items-end gap-2"
      aria-label="Sample rate"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await setRate({ id, sample_rate: Number(value) / 100 });
          if (!r.ok) return setError(r.fieldErrors?.sample_rate?.join(" ") ?? r.error);
          setError(undefined);
          await queries.invalidateQueries({ queryKey: ["deployment-drift", id] });
          router.refresh();
        });
      }}
    >
      <div>
        <label htmlFor="drift-sample-rate" className="block text-xs text-stone-600">Requests sampled (%)</label>
        <input
          id="drift-sample-rate" type="number" min={0} max={100} step="any" value={value} onChange={(e) => setValue(e.target.value)}
          className="mt-1 w-24 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm tabular-nums focus:border-teal-600 focus:outline-none"
          aria-invalid={error ? true : undefined} aria-describedby={error ? "drift-sample-rate-error" : undefined}
        />
      </div>
      <Button type="submit" variant="secondary" size="sm" disabled={pending}>{pending ? "Saving…" : "Save"}</Button>
      {error && <p id="drift-sample-rate-error" role="alert" className="w-full text-xs text-red-700">{error}</p>}
    </form>
  );
}

function DriftOverTime({ features }: { features: DriftFeatureDto[] }) {
  const drawn = [...features].filter((f) => f.series.length > 0).sort((a, b) => (b.latest?.psi ?? 0) - (a.latest?.psi ?? 0)).slice(0, MAX_LINES);
  const times = [...new Set(drawn.flatMap((f) => f.series.map((p) => p.window_start)))].sort();
  const data = times.map((t) => Object.fromEntries([["t", t], ...drawn.map((f) => [label(f.name), f.series.find((p) => p.window_start === t)?.psi ?? null])]));
  return (
    <figure className="rounded-lg border border-stone-200 bg-white p-3" aria-label="Chart of drift (PSI) per feature over time">
      <figcaption className="mb-1 text-sm font-medium text-stone-800">Drift per feature over time (PSI per window)</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <LineChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e7e5e4" strokeDasharray="3 3" />
          <XAxis dataKey="t" tickFormatter={time} fontSize={11} minTickGap={40} />
          <YAxis fontSize={11} width={48} />
          <Tooltip labelFormatter={(t) => time(String(t))} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          {drawn.map((f, i) => <Line key={f.name} dataKey={label(f.name)} stroke={COLORS[i % COLORS.length]} dot={data.length < 3} isAnimationActive={false} connectNulls={false} />)}
        </LineChart>
      </ResponsiveContainer>
    </figure>
  );
}

function ReferenceBesideLive({ feature }: { feature: DriftFeatureDto }) {
  const data = feature.distribution.map((d) => ({ bin: d.label, reference: Math.round(d.reference * 1000) / 10, live: d.live === null ? null : Math.round(d.live * 1000) / 10 }));
  return (
    <figure className="rounded-lg border border-stone-200 bg-white p-3" aria-label={`Chart of ${label(feature.name)}: reference beside live`}>
      <figcaption className="mb-1 text-sm font-medium text-stone-800">{label(feature.name)}: training reference beside the newest window (% of values)</figcaption>
      <ResponsiveContainer width="100%" height={220}>
        <BarChart data={data} margin={{ top: 4, right: 8, bottom: 0, left: 0 }}>
          <CartesianGrid stroke="#e7e5e4" strokeDasharray="3 3" />
          <XAxis dataKey="bin" fontSize={11} interval={0} angle={data.length > 6 ? -30 : 0} height={data.length > 6 ? 50 : 30} textAnchor={data.length > 6 ? "end" : "middle"} />
          <YAxis fontSize={11} width={40} unit=" %" />
          <Tooltip formatter={(v) => (v === null ? "—" : `${String(v)} %`)} />
          <Legend wrapperStyle={{ fontSize: 11 }} />
          <Bar dataKey="reference" fill="#a8a29e" isAnimationActive={false} />
          <Bar dataKey="live" fill="#0f766e" isAnimationActive={false} />
        </BarChart>
      </ResponsiveContainer>
      <table className="sr-only">
        <caption>{label(feature.name)}: reference and live shares per bin</caption>
        <thead><tr><th>Bin</th><th>Reference</th><th>Live</th></tr></thead>
        <tbody>{feature.distribution.map((d) => <tr key={d.label}><td>{d.label}</td><td>{percent(d.reference)}</td><td>{d.live === null ? "—" : percent(d.live)}</td></tr>)}</tbody>
      </table>
    </figure>
  );
}

export function Monitoring({ id, initial, setRate }: { id: string; initial: DriftDto; setRate: (input: { id: string; sample_rate: number }) => Promise<ActionResult<number>> }) {
  const [hours, setHours] = useState<number>(24);
  const { data = initial, error } = useQuery({
    queryKey: ["deployment-drift", id, hours], queryFn: () => load(id, hours), refetchInterval: 30_000, retry: false,
    initialData: hours === 24 ? initial : undefined,
  });
  const [chosen, setChosen] = useState<string>(initial.features[0]?.name ?? "");
  const feature = data.features.find((f) => f.name === chosen) ?? data.features[0];
  const hasWindows = data.features.some((f) => f.series.length > 0);
  const windowLabel = data.window_seconds % 3600 === 0 ? `${data.window_seconds / 3600} h` : `${data.window_seconds / 60} min`;
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div className="space-y-1 text-sm text-stone-700">
          <p>
            {data.sample_rate === 0 ? "Sampling is off: no requests are stored for drift monitoring." : `${percent(data.sample_rate)} of answered requests are sampled into the inference log`}
            {data.sample_rate > 0 && <> · {data.samples.stored} stored{data.samples.last_at ? `, the latest at ${time(data.samples.last_at)} UTC` : ""} · drift per {windowLabel} window</>}
          </p>
          <p className="text-xs text-stone-500">{data.reference.note}</p>
        </div>
        {data.viewer_can.manage && <SampleRateForm id={id} rate={data.sample_rate} setRate={setRate} />}
      </div>
      {error && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">{error.message}</p>}
      {data.reference.source === null && (
        <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">No training reference, so no drift can be computed. {data.reference.note}</p>
      )}
      {data.reference.source === "input_example" && (
        <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">The reference is only the model&apos;s logged input example: treat these figures as rough.</p>
      )}
      {data.reference.source !== null && data.samples.stored === 0 && (
        <p role="status" className="rounded-md border border-stone-200 bg-stone-50 px-3 py-2 text-sm text-stone-700">
          No samples yet. {data.sample_rate > 0 ? "Send requests to the endpoint; drift shows here once the worker has computed a window (within a minute)." : "Set a sample rate above 0 to start."}
        </p>
      )}
      {data.features.length > 0 && (
        <>
          <div className="flex flex-wrap items-center gap-3 text-sm">
            <label htmlFor="drift-range" className="text-stone-600">Range</label>
            <select id="drift-range" value={hours} onChange={(e) => setHours(Number(e.target.value))} className="rounded-md border border-stone-300 bg-white px-2 py-1 text-sm">
              {RANGES.map((r) => <option key={r.hours} value={r.hours}>{r.label}</option>)}
            </select>
          </div>
          <div className="overflow-x-auto">
            <table className="w-full text-left text-sm" aria-label="Drift and data quality per feature">
              <thead className="text-xs text-stone-500">
                <tr><th className="py-1 pr-3 font-medium">Feature</th><th className="py-1 pr-3 font-medium">PSI</th><th className="py-1 pr-3 font-medium">Chi-square p</th><th className="py-1 pr-3 font-medium">Missing</th><th className="py-1 pr-3 font-medium">Invalid</th><th className="py-1 pr-3 font-medium">Samples</th></tr>
              </thead>
              <tbody>
                {data.features.map((f) => {
                  const level = psiLevel(f.latest?.psi ?? null);
                  return (
                    <tr key={f.name} className="border-t border-stone-100">
                      <td className="py-1 pr-3"><button type="button" className="font-mono text-teal-800 underline" onClick={() => setChosen(f.name)} aria-pressed={f.name === feature?.name}>{label(f.name)}</button> <span className="text-xs text-stone-500">{f.kind}</span></td>
                      <td className="py-1 pr-3 tabular-nums">{f.latest?.psi ?? "—"} <Badge tone={level.tone}>{level.text}</Badge></td>
                      <td className="py-1 pr-3 tabular-nums">{f.latest?.chi_square_p === null || f.latest === null ? "—" : f.latest.chi_square_p < 0.0001 ? "< 0.0001" : f.latest.chi_square_p.toFixed(4)}</td>
                      <td className="py-1 pr-3 tabular-nums">{f.latest ? percent(f.latest.missing_share) : "—"}</td>
                      <td className="py-1 pr-3 tabular-nums">{f.latest ? percent(f.latest.invalid_share) : "—"}</td>
                      <td className="py-1 pr-3 tabular-nums">{f.latest?.samples ?? 0}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <p className="mt-1 text-xs text-stone-500">Figures of the newest window. PSI under 0.1 is usually read as stable, 0.1–0.25 as a moderate shift, above 0.25 as significant. Invalid: not of the feature&apos;s type, outside its range, or a category the reference never saw.</p>
          </div>
          <div className="grid gap-3 lg:grid-cols-2">
            {hasWindows ? <DriftOverTime features={data.features} /> : <p className="text-sm text-stone-500">No drift window computed in this range yet.</p>}
            {feature && (
              <div className="space-y-2">
                <label htmlFor="drift-feature" className="mr-2 text-sm text-stone-600">Feature</label>
                <select id="drift-feature" value={feature.name} onChange={(e) => setChosen(e.target.value)} className="rounded-md border border-stone-300 bg-white px-2 py-1 text-sm">
                  {data.features.map((f) => <option key={f.name} value={f.name}>{label(f.name)}</option>)}
                </select>
                <ReferenceBesideLive feature={feature} />
              </div>
            )}
          </div>
        </>
      )}
    </div>
  );
}
