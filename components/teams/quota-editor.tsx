"use client";

import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import type { BudgetThresholds, LimitRangeSpec } from "@/lib/schemas/teams";
import { DEFAULT_BUDGET_THRESHOLDS } from "@/lib/schemas/teams";
import { Button } from "@/components/ui/button";

type Quota = {
  cpu: number; memory_gib: number; gpus: number; gpus_by_type: Record<string, number> | null; max_concurrent_jobs: number;
  max_deployments: number; max_replicas: number; storage_gib: number | null; monthly_budget_usd: number; limit_range: LimitRangeSpec | null;
  budget_thresholds?: BudgetThresholds;
  /** Read: whether a webhook is set. */
  budget_webhook_set?: boolean;
  /** Written: a new webhook URL, or null to remove it (left out: kept). */
  budget_webhook_url?: string | null;
};

const STEP_FIELDS = [
  ["warn_pct", "Warn at (% of budget)"], ["approval_pct", "Lead approval at (%)"], ["block_pct", "Block new work at (%)"],
] as const;

const LIMIT_FIELDS = [
  ["min", "cpu", "Min CPU"], ["max", "cpu", "Max CPU"], ["default_request", "cpu", "Default CPU request"],
  ["min", "memory_gib", "Min memory (GiB)"], ["max", "memory_gib", "Max memory (GiB)"], ["default_request", "memory_gib", "Default memory request (GiB)"],
] as const;
type LimitKey = `${(typeof LIMIT_FIELDS)[number][0]}.${(typeof LIMIT_FIELDS)[number][1]}`;

function limitRangeFrom(values: Record<string, string>): LimitRangeSpec | null {
  const out: LimitRangeSpec = {};
  for (const [part, key] of LIMIT_FIELDS) {
    const raw = values[`${part}.${key}`] ?? "";
    if (raw.trim() === "") continue;
    out[part] = { ...out[part], [key]: Number(raw) };
  }
  return Object.keys(out).length ? out : null;
}

const FIELDS: [keyof Quota, string][] = [
  ["cpu", "CPU (cores)"], ["memory_gib", "Memory (GiB)"], ["gpus", "GPUs (total)"], ["max_concurrent_jobs", "Concurrent jobs"],
  ["max_deployments", "Deployments"], ["max_replicas", "Model replicas"], ["storage_gib", "Artifact storage (GiB)"], ["monthly_budget_usd", "Monthly budget (USD)"],
];

/** The admin's quota form; lowering a limit never stops running work, it only holds new work back. */
export function QuotaEditor({ team, quota, save }: { team: string; quota: Quota; save: (input: { team: string; quota: Quota }) => Promise<ActionResult<unknown>> }) {
  const router = useRouter();
  const [values, setValues] = useState<Record<string, string>>(Object.fromEntries(FIELDS.map(([k]) => [k, quota[k] === null ? "" : String(quota[k])])));
  const [limits, setLimits] = useState<Record<string, string>>(
    Object.fromEntries(LIMIT_FIELDS.map(([part, key]) => [`${part}.${key}`, quota.limit_range?.[part]?.[key] === undefined ? "" : String(quota.limit_range[part]![key])])),
  );
  const thresholds = quota.budget_thresholds ?? DEFAULT_BUDGET_THRESHOLDS;
  const [steps, setSteps] = useState<Record<string, string>>(Object.fromEntries(STEP_FIELDS.map(([k]) => [k, thresholds[k] === null ? "" : String(thresholds[k])])));
  const [webhook, setWebhook] = useState("");
  const [dropWebhook, setDropWebhook] = useState(false);
  const [split, setSplit] = useState(Object.entries(quota.gpus_by_type ?? {}).map(([k, v]) => `${k}=${v}`).join(", "));
  const [error, setError] = useState<string>();
  const [saved, setSaved] = useState(false);
  const [pending, startTransition] = useTransition();
  return (
    <form
      aria-label="Quota"
      className="space-y-3"
      onSubmit={(e) => {
        e.preventDefault();
        const byType = Object.fromEntries(split.split(",").map((p) => p.trim()).filter(Boolean).map((p) => { const [k, v] = p.split("="); return [k!.trim(), Number(v)]; }));
        const num = (k: string) => Number(values[k]);
        const next: Quota = {
          cpu: num("cpu"), memory_gib: num("memory_gib"), gpus: num("gpus"), gpus_by_type: Object.keys(byType).length ? byType : null,
          max_concurrent_jobs: num("max_concurrent_jobs"), max_deployments: num("max_deployments"), max_replicas: num("max_replicas"),
          storage_gib: values.storage_gib === "" ? null : num("storage_gib"), monthly_budget_usd: num("monthly_budget_usd"),
          limit_range: limitRangeFrom(limits),
          // An empty step is off.
          budget_thresholds: Object.fromEntries(STEP_FIELDS.map(([k]) => [k, steps[k]!.trim() === "" ? null : Number(steps[k])])) as BudgetThresholds,
          ...(dropWebhook ? { budget_webhook_url: null } : webhook.trim() ? { budget_webhook_url: webhook.trim() } : {}),
        };
        startTransition(async () => {
          const r = await save({ team, quota: next });
          if (!r.ok) { setSaved(false); setError(r.fieldErrors ? Object.entries(r.fieldErrors).map(([k, v]) => `${k.replace(/^quota\./, "")}: ${v.join(", ")}`).join("; ") : r.error); return; }
          setError(undefined);
          setSaved(true);
          router.refresh();
        });
      }}
    >
      <div className="grid grid-cols-2 gap-2">
        {FIELDS.map(([k, label]) => (
          <div key={k}>
            <label htmlFor={`quota-${k}`} className="block text-xs text-stone-600">{label}</label>
            <input id={`quota-${k}`} type="number" min={0} step="any" value={values[k]} onChange={(e) => { setSaved(false); setValues((v) => ({ ...v, [k]: e.target.value })); }} className="mt-0.5 w-full rounded-md border border-stone-300 px-2 py-1 text-sm" />
          </div>
        ))}
      </div>
      <div>
        <label htmlFor="quota-split" className="block text-xs text-stone-600">GPUs by type (optional, e.g. nvidia-a100=4, nvidia-t4=2)</label>
        <input id="quota-split" value={split} onChange={(e) => { setSaved(false); setSplit(e.target.value); }} className="mt-0.5 w-full rounded-md border border-stone-300 px-2 py-1 font-mono text-sm" />
      </div>
      <fieldset className="space-y-1">
        <legend className="text-xs font-semibold text-stone-700">Budget steps (of the monthly budget; leave a step empty to turn it off)</legend>
        <div className="grid grid-cols-3 gap-2">
          {STEP_FIELDS.map(([k, label]) => (
            <div key={k}>
              <label htmlFor={`budget-${k}`} className="block text-xs text-stone-600">{label}</label>
              <input id={`budget-${k}`} type="number" min={1} max={1000} step={1} value={steps[k]} onChange={(e) => { setSaved(false); setSteps((v) => ({ ...v, [k]: e.target.value })); }} className="mt-0.5 w-full rounded-md border border-stone-300 px-2 py-1 text-sm" />
            </div>
          ))}
        </div>
        <p className="text-xs text-stone-500">
          Warn: a banner and a note on new jobs and deploys. Lead approval: only the team&apos;s leads start new work until a lead grants an extension. Block: nobody does until the budget is raised or the month turns. Running work is never stopped.
        </p>
        <label htmlFor="budget-webhook" className="block text-xs text-stone-600">
          Budget webhook URL (Slack-compatible; {quota.budget_webhook_set ? "one is set — enter a new one to replace it" : "none set"})
        </label>
        <input id="budget-webhook" type="url" value={webhook} placeholder="https://hooks.slack.com/services/…" onChange={(e) => { setSaved(false); setWebhook(e.target.value); }} className="mt-0.5 w-full rounded-md border border-stone-300 px-2 py-1 font-mono text-sm" />
        {quota.budget_webhook_set && (
          <label className="flex items-center gap-2 text-xs text-stone-700">
            <input type="checkbox" checked={dropWebhook} onChange={(e) => { setSaved(false); setDropWebhook(e.target.checked); }} /> Remove the budget webhook
          </label>
        )}
      </fieldset>
      <fieldset className="space-y-1">
        <legend className="text-xs font-semibold text-stone-700">Per-container limits (a Kubernetes LimitRange; leave empty for none)</legend>
        <div className="grid grid-cols-3 gap-2">
          {LIMIT_FIELDS.map(([part, key, label]) => {
            const id = `${part}.${key}` as LimitKey;
            return (
              <div key={id}>
                <label htmlFor={`limit-${id}`} className="block text-xs text-stone-600">{label}</label>
                <input id={`limit-${id}`} type="number" min={0} step="any" value={limits[id]} onChange={(e) => { setSaved(false); setLimits((v) => ({ ...v, [id]: e.target.value })); }} className="mt-0.5 w-full rounded-md border border-stone-300 px-2 py-1 text-sm" />
              </div>
            );
          })}
        </div>
      </fieldset>
      <div className="flex items-center gap-3">
        <Button size="sm" type="submit" disabled={pending}>Save quota</Button>
        {saved && <span role="status" className="text-sm text-emerald-800">Saved.</span>}
      </div>
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
    </form>
  );
}
