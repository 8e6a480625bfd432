"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { SplitDto, SplitVariantDto } from "@/lib/schemas/splits";
import { formatDateTime } from "@/lib/format";
import { ActionButton } from "@/components/ui/action-button";
import { Button } from "@/components/ui/button";
import { RefreshWhile } from "@/components/ui/refresh-while";

type StartInput = { id: string; version: number; weight: number; sticky: boolean; error_share_points: number | null; p99_ms: number | null; min_requests: number; note?: string };
type Actions = {
  start: (input: StartInput) => Promise<ActionResult<{ approval_request_id: string } | { split_id: string }>>;
  promote: (input: { id: string }) => Promise<ActionResult<string>>;
  abort: (input: { id: string }) => Promise<ActionResult<string>>;
};

const pct = (n: number | null) => (n === null ? "—" : `${(n * 100).toFixed(n * 100 >= 10 || n === 0 ? 1 : 2)} %`);
const ms = (n: number | null) => (n === null ? "—" : `${n.toFixed(n >= 100 ? 0 : 1)} ms`);
const num = (n: number | null, digits = 3) => (n === null ? "—" : n.toFixed(digits));

const ROWS: [string, (v: SplitVariantDto) => string][] = [
  ["Version", (v) => `v${v.version}`],
  ["Traffic weight", (v) => `${v.weight} %`],
  ["Deployment", (v) => v.status],
  ["Requests", (v) => v.requests.toLocaleString("en-US")],
  ["Requests / s (last 5 min)", (v) => v.requests_per_second.toFixed(2)],
  ["Latency p50", (v) => ms(v.latency_p50_ms)],
  ["Latency p99", (v) => ms(v.latency_p99_ms)],
  ["Error share (5xx)", (v) => pct(v.error_share)],
  ["Labelled requests", (v) => v.labelled.toLocaleString("en-US")],
  ["Accuracy", (v) => pct(v.accuracy)],
  ["AUC", (v) => num(v.auc)],
];

/** Both variants' figures side by side, as a table (one column a variant). */
function Figures({ split }: { split: SplitDto }) {
  return (
    <table className="w-full max-w-2xl text-sm" aria-label="Variant figures">
      <thead>
        <tr className="border-b border-stone-200 text-left text-xs text-stone-500">
          <th scope="col" className="py-1.5 pr-4 font-medium">Figure</th>
          <th scope="col" className="py-1.5 pr-4 font-medium">Baseline</th>
          <th scope="col" className="py-1.5 font-medium">Candidate</th>
        </tr>
      </thead>
      <tbody>
        {ROWS.map(([label, value]) => (
          <tr key={label} className="border-b border-stone-100">
            <th scope="row" className="py-1.5 pr-4 text-left font-normal text-stone-600">{label}</th>
            <td className="py-1.5 pr-4 tabular-nums">{value(split.baseline)}</td>
            <td className="py-1.5 tabular-nums">{value(split.candidate)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function StartForm({ id, production, versions, start }: { id: string; production: boolean; versions: number[]; start: Actions["start"] }) {
  const router = useRouter();
  const [version, setVersion] = useState(String(versions[0] ?? ""));
  const [weight, setWeight] = useState("10");
  const [sticky, setSticky] = useState(false);
  const [errorPoints, setErrorPoints] = useState("");
  const [p99, setP99] = useState("");
  const [minRequests, setMinRequests] = useState("100");
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [notice, setNotice] = useState<string>();
  const [pending, startTransition] = useTransition();
  const optional = (s: string) => (s.trim() === "" ? null : Number(s));
  const field = "mt-1 w-28 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm tabular-nums focus:border-teal-600 focus:outline-none";
  const fieldError = (name: string) => fieldErrors[name]?.length ? <p id={`split-${name}-error`} role="alert" className="mt-1 text-xs text-red-700">{fieldErrors[name]!.join(" ")}</p> : null;
  return (
    <form
      className="space-y-3"
      aria-label="Start a traffic split"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await start({ id, version: Number(version), weight: Number(weight), sticky, error_share_points: optional(errorPoints), p99_ms: optional(p99), min_requests: Number(minRequests) });
          if (!r.ok) {
            setFieldErrors(r.fieldErrors ?? {});
            return setError(r.error);
          }
          setError(undefined);
          setFieldErrors({});
          if ("approval_request_id" in r.data) setNotice(`Requested: a team lead decides the split on /approvals/${r.data.approval_request_id}.`);
          router.refresh();
        });
      }}
    >
      <div className="flex flex-wrap items-start gap-4">
        <div>
          <label htmlFor="split-version" className="block text-xs text-stone-600">Candidate version</label>
          <select id="split-version" value={version} onChange={(e) => setVersion(e.target.value)} className={field}>
            {versions.map((v) => <option key={v} value={v}>v{v}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="split-weight" className="block text-xs text-stone-600">Candidate weight (%)</label>
          <input id="split-weight" type="number" min={1} max={99} step={1} value={weight} onChange={(e) => setWeight(e.target.value)} className={field}
            aria-invalid={fieldErrors.weight ? true : undefined} aria-describedby={fieldErrors.weight ? "split-weight-error" : undefined} />
          {fieldError("weight")}
        </div>
        <div>
          <label htmlFor="split-error-points" className="block text-xs text-stone-600">Abort if error share exceeds baseline by (points)</label>
          <input id="split-error-points" type="number" min={0} max={100} step="any" placeholder="off" value={errorPoints} onChange={(e) => setErrorPoints(e.target.value)} className={field} />
        </div>
        <div>
          <label htmlFor="split-p99" className="block text-xs text-stone-600">Abort if p99 exceeds baseline by (ms)</label>
          <input id="split-p99" type="number" min={0} step="any" placeholder="off" value={p99} onChange={(e) => setP99(e.target.value)} className={field} />
        </div>
        <div>
          <label htmlFor="split-min-requests" className="block text-xs text-stone-600">Minimum requests per variant</label>
          <input id="split-min-requests" type="number" min={1} step={1} value={minRequests} onChange={(e) => setMinRequests(e.target.value)} className={field} />
        </div>
      </div>
      <label className="flex items-center gap-2 text-sm text-stone-700">
        <input type="checkbox" checked={sticky} onChange={(e) => setSticky(e.target.checked)} />
        Sticky (A/B): the same <code className="font-mono text-xs">X-Cairn-Split-Key</code> header always reaches the same variant
      </label>
      <div className="flex items-center gap-3">
        <Button type="submit" size="sm" disabled={pending || versions.length === 0}>{pending ? "Starting…" : production ? "Request split approval" : "Start split"}</Button>
        {production && <span className="text-xs text-stone-500">Production: a team lead approves the split (version, weight, stickiness, thresholds) before it serves.</span>}
      </div>
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
      {notice && <p role="status" className="text-sm text-teal-800">{notice}</p>}
    </form>
  );
}

/** The deployment page's "Traffic split" panel: start one, watch both variants, promote or abort, and its events. */
export function TrafficSplit({ id, production, canStart, ready, versions, split, pending, actions }: {
  id: string; production: boolean; canStart: boolean; ready: boolean; versions: number[]; split: SplitDto | null;
  /** Production split requests on this deployment that wait for a team lead. */
  pending: { id: string; version: number; weight: number; requested_by: string }[];
  actions: Actions;
}) {
  const router = useRouter();
  const active = split?.status === "active";
  const isCandidate = split?.candidate.deployment_id === id;
  return (
    <div className="space-y-4">
      <RefreshWhile active={active} everyMs={3000} />
      {split && (
        <div className="space-y-3">
          <p className="text-sm text-stone-700">
            {active ? "Active" : split.status === "promoted" ? "Promoted" : "Aborted"}: version {split.candidate.version} (candidate) {active ? `takes ${split.weight} %` : `took ${split.weight} %`} of{" "}
            <code className="font-mono text-xs">{split.stable_endpoint}</code> beside version {split.baseline.version} (baseline)
            {split.sticky ? <>, sticky by <code className="font-mono text-xs">{split.sticky_header}</code></> : ", at random"}. Started {formatDateTime(split.started_at)} by {split.started_by}
            {split.ended_at ? `; ended ${formatDateTime(split.ended_at)} by ${split.ended_by}${split.end_reason ? ` (${split.end_reason})` : ""}` : ""}.
            {" "}Automatic abort: {split.abort.error_share_points === null && split.abort.p99_ms === null ? "off" : [
              split.abort.error_share_points !== null ? `error share +${split.abort.error_share_points} points` : null,
              split.abort.p99_ms !== null ? `p99 +${split.abort.p99_ms} ms` : null,
            ].filter(Boolean).join(" or ") + ` over the baseline, after ${split.abort.min_requests} requests each`}.
          </p>
          <Figures split={split} />
          <p className="text-xs text-stone-500">Every answer names its variant in <code className="font-mono">X-Cairn-Variant</code> and carries <code className="font-mono">X-Request-Id</code>; send true labels to <code className="font-mono">POST /api/v1/deployments/{split.baseline.deployment_id}/feedback</code> with <code className="font-mono">{"{request_id, label}"}</code> for accuracy and AUC.</p>
          {active && (split.viewer_can.promote || split.viewer_can.abort) && (
            <div className="flex flex-wrap gap-2">
              {split.viewer_can.promote && (
                <ActionButton variant="primary" confirm={`Promote version ${split.candidate.version}? It takes all of the traffic, the baseline (version ${split.baseline.version}) stops${production ? `, and @production moves to version ${split.candidate.version}` : ""}.`}
                  run={() => actions.promote({ id: split.baseline.deployment_id })} onDone={(next) => router.push(`/deployments/${next}`)} pendingLabel="Promoting…">
                  Promote candidate
                </ActionButton>
              )}
              {split.viewer_can.abort && (
                <ActionButton variant="danger" confirm={`Abort the split? All traffic goes back to version ${split.baseline.version} and the candidate (version ${split.candidate.version}) stops.`}
                  run={() => actions.abort({ id: split.baseline.deployment_id })} pendingLabel="Aborting…">
                  Abort split
                </ActionButton>
              )}
            </div>
          )}
          <ol className="space-y-1 text-sm" aria-label="Split events">
            {split.events.map((e, i) => (
              <li key={i} className="flex flex-wrap items-baseline gap-2">
                <span className="w-44 shrink-0 text-xs text-stone-500 tabular-nums">{formatDateTime(e.at)}</span>
                <span className="rounded bg-stone-100 px-1.5 text-xs text-stone-700">{e.kind.replace("_", " ")}</span>
                <span className="break-words text-stone-700">{e.message}</span>
              </li>
            ))}
          </ol>
        </div>
      )}
      {pending.length > 0 && (
        <ul className="space-y-1 text-sm" aria-label="Split requests waiting for approval">
          {pending.map((p) => (
            <li key={p.id} className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-amber-900">
              Waiting for a team lead: version {p.version} at {p.weight} %, asked by {p.requested_by} — <Link href={`/approvals/${p.id}`} className="underline">the request</Link>.
            </li>
          ))}
        </ul>
      )}
      {!active && !isCandidate && pending.length === 0 && (
        canStart && ready && versions.length > 0
          ? <StartForm id={id} production={production} versions={versions} start={actions.start} />
          : <p className="text-sm text-stone-500">{!ready ? "A split starts from a deployment that serves." : versions.length === 0 ? "The model has no other servable version to send traffic to; register one first." : "Your role cannot start splits on this deployment."}</p>
      )}
    </div>
  );
}
