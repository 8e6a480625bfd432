"use client";

import { useRouter } from "next/navigation";
import { useEffect, useMemo, useState, useTransition } from "react";
import type { ActionResult } from "@/lib/action-result";
import { Button } from "@/components/ui/button";
import { joinCommand, splitCommand } from "@/lib/command-line";
import { CodeArchivePicker } from "./code-archive-picker";
import type { CodeArchiveInfo } from "./code-archive-picker";
import { formatUsd } from "@/lib/format";

type InstanceType = { name: string; cpu: number; memory_gib: number; gpu_type: string | null; gpu_count: number; hourly_price_usd: number };
type Spec = {
  source?: string; command?: string[]; instance_type?: string; gpus?: number; env: Record<string, string>;
  priority: "low" | "normal" | "high"; max_runtime_seconds: number; retries: number; name?: string;
};
type Preview = {
  team: string; hourly_price_usd: number; max_cost_usd: number; outcome: "runs" | "queues" | "refused"; reason: string | null;
  quota: { cpu: number; memory_gib: number; gpus: number; max_concurrent_jobs: number } | null;
  used: { cpu: number; memory_gib: number; gpus: number; jobs: number }; queued_ahead: number;
};
type Input = { experimentId: string; spec: Spec };

export type LaunchDefaults = {
  experimentId: string; source: string; command: string; instanceType: string; gpus: number | null;
  priority: Spec["priority"]; maxRuntimeMinutes: number; retries: number; env: string;
  /** The uploaded archive `source` names (clone and edit of a job that ran one). */
  archive?: CodeArchiveInfo | null;
};

/** The Code select's value for "Upload archive". */
const UPLOAD = "upload";

/** A service's own message, or the schema's field messages when the input did not parse. */
function describe(r: { error: string; fieldErrors?: Record<string, string[]> }): string {
  if (!r.fieldErrors || !r.error.startsWith("Please correct")) return r.error;
  return Object.entries(r.fieldErrors).map(([k, v]) => `${k.replace(/^spec\./, "")}: ${v.join(", ")}`).join("; ");
}

function parseEnv(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t || t.startsWith("#")) continue;
    const eq = t.indexOf("=");
    if (eq > 0) env[t.slice(0, eq).trim()] = t.slice(eq + 1);
    else env[t] = "";
  }
  return env;
}

export function LaunchForm({ experiments, instanceTypes, examples, defaults, preview, submit }: {
  experiments: { id: string; name: string; team: string }[];
  instanceTypes: InstanceType[];
  examples: { source: string; command: string[]; description: string }[];
  defaults: LaunchDefaults;
  preview: (input: Input) => Promise<ActionResult<Preview>>;
  submit: (input: Input) => Promise<ActionResult<string>>;
}) {
  const router = useRouter();
  const [experimentId, setExperimentId] = useState(defaults.experimentId);
  const [source, setSource] = useState(defaults.archive ? UPLOAD : defaults.source);
  const [archive, setArchive] = useState<CodeArchiveInfo | null>(defaults.archive ?? null);
  const [command, setCommand] = useState(defaults.command);
  const [instanceType, setInstanceType] = useState(defaults.instanceType);
  const [gpus, setGpus] = useState<number | null>(defaults.gpus);
  const [priority, setPriority] = useState(defaults.priority);
  const [minutes, setMinutes] = useState(defaults.maxRuntimeMinutes);
  const [retries, setRetries] = useState(defaults.retries);
  const [envText, setEnvText] = useState(defaults.env);
  const [estimate, setEstimate] = useState<Preview>();
  const [previewError, setPreviewError] = useState<string>();
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [pending, startTransition] = useTransition();

  const type = instanceTypes.find((t) => t.name === instanceType);
  const example = examples.find((e) => e.source === source);
  const team = experiments.find((x) => x.id === experimentId)?.team ?? null;
  // An archive belongs to one team: choosing another team's experiment asks for a new upload.
  const usableArchive = archive && archive.team === team ? archive : null;
  const codeSource = source === UPLOAD ? usableArchive?.id : source;
  const input = useMemo<Input>(() => {
    const words = splitCommand(command);
    return {
      experimentId,
      spec: {
        ...(codeSource ? { source: codeSource } : {}),
        ...(words.length ? { command: words } : {}),
        instance_type: instanceType,
        ...(type && type.gpu_count > 0 && gpus !== null ? { gpus } : {}),
        env: parseEnv(envText), priority, max_runtime_seconds: Math.round(minutes * 60), retries,
      },
    };
  }, [experimentId, codeSource, command, instanceType, type, gpus, envText, priority, minutes, retries]);

  useEffect(() => {
    if (!experimentId) return;
    let stale = false;
    const t = setTimeout(async () => {
      const r = await preview(input);
      if (stale) return;
      if (r.ok) { setEstimate(r.data); setPreviewError(undefined); }
      else { setEstimate(undefined); setPreviewError(describe(r)); }
    }, 250);
    return () => { stale = true; clearTimeout(t); };
  }, [input, experimentId, preview]);

  const field = (name: string) => fieldErrors[name]?.join(", ") ?? fieldErrors[`spec.${name}`]?.join(", ");
  const inputClass = "mt-1 w-full rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm";
  return (
    <form
      className="grid gap-6 lg:grid-cols-3"
      aria-label="Launch training"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await submit(input);
          if (!r.ok) { setError(describe(r)); setFieldErrors(r.fieldErrors ?? {}); return; }
          router.push(`/jobs/${r.data}`);
        });
      }}
    >
      <div className="space-y-4 lg:col-span-2">
        <div>
          <label htmlFor="experiment" className="block text-sm font-medium text-stone-800">Experiment</label>
          <select id="experiment" value={experimentId} onChange={(e) => setExperimentId(e.target.value)} className={inputClass} required>
            <option value="" disabled>Choose an experiment…</option>
            {experiments.map((x) => <option key={x.id} value={x.id}>{x.name} ({x.team})</option>)}
          </select>
        </div>
        <div className="grid gap-4 sm:grid-cols-2">
          <div>
            <label htmlFor="source" className="block text-sm font-medium text-stone-800">Code</label>
            <select id="source" value={source} onChange={(e) => { setSource(e.target.value); const ex = examples.find((x) => x.source === e.target.value); if (ex) setCommand(joinCommand(ex.command)); else if (e.target.value === UPLOAD) setCommand(joinCommand(usableArchive?.default_command ?? [])); }} className={inputClass}>
              <option value="">No code (command only)</option>
              {examples.map((x) => <option key={x.source} value={x.source}>Built-in: {x.source}</option>)}
              <option value={UPLOAD}>Upload archive (zip or .tar.gz)</option>
            </select>
            {example && <p className="mt-1 text-xs text-stone-500">{example.description}</p>}
          </div>
          <div>
            <label htmlFor="command" className="block text-sm font-medium text-stone-800">Command</label>
            <input id="command" value={command} onChange={(e) => setCommand(e.target.value)} className={`${inputClass} font-mono`} placeholder="node train.mjs --epochs 30" />
            {field("command") && <p className="mt-1 text-xs text-red-700">{field("command")}</p>}
          </div>
        </div>
        {source === UPLOAD && (
          <CodeArchivePicker
            team={team}
            archive={usableArchive}
            onChange={(a) => { setArchive(a); if (a?.default_command) setCommand(joinCommand(a.default_command)); }}
          />
        )}
        <div className="grid gap-4 sm:grid-cols-3">
          <div className="sm:col-span-2">
            <label htmlFor="instance-type" className="block text-sm font-medium text-stone-800">Instance type</label>
            <select id="instance-type" value={instanceType} onChange={(e) => { setInstanceType(e.target.value); setGpus(null); }} className={inputClass}>
              {instanceTypes.map((t) => (
                <option key={t.name} value={t.name}>{t.name} — {t.cpu} CPU, {t.memory_gib} GiB{t.gpu_count ? `, ${t.gpu_count}× ${t.gpu_type}` : ""} · {formatUsd(t.hourly_price_usd)}/h</option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="gpus" className="block text-sm font-medium text-stone-800">GPUs</label>
            <input id="gpus" type="number" min={0} value={type && type.gpu_count > 0 ? (gpus ?? type.gpu_count) : 0} disabled={!type || type.gpu_count === 0} onChange={(e) => setGpus(Number(e.target.value))} className={inputClass} />
            {field("gpus") && <p className="mt-1 text-xs text-red-700">{field("gpus")}</p>}
          </div>
        </div>
        <div className="grid gap-4 sm:grid-cols-3">
          <div>
            <label htmlFor="priority" className="block text-sm font-medium text-stone-800">Priority</label>
            <select id="priority" value={priority} onChange={(e) => setPriority(e.target.value as Spec["priority"])} className={inputClass}>
              <option value="low">low</option><option value="normal">normal</option><option value="high">high</option>
            </select>
          </div>
          <div>
            <label htmlFor="max-runtime" className="block text-sm font-medium text-stone-800">Max runtime (minutes)</label>
            <input id="max-runtime" type="number" min={1} max={10080} value={minutes} onChange={(e) => setMinutes(Number(e.target.value))} className={inputClass} />
          </div>
          <div>
            <label htmlFor="retries" className="block text-sm font-medium text-stone-800">Retries</label>
            <input id="retries" type="number" min={0} max={5} value={retries} onChange={(e) => setRetries(Number(e.target.value))} className={inputClass} />
          </div>
        </div>
        <div>
          <label htmlFor="env" className="block text-sm font-medium text-stone-800">Environment (KEY=value, one per line)</label>
          <textarea id="env" value={envText} onChange={(e) => setEnvText(e.target.value)} rows={3} className={`${inputClass} font-mono`} placeholder="LEARNING_RATE=0.02" />
          {field("env") && <p className="mt-1 text-xs text-red-700">{field("env")}</p>}
          <p className="mt-1 text-xs text-stone-500">Cairn sets MLFLOW_TRACKING_URI, MLFLOW_TRACKING_TOKEN (a short-lived token for this job), MLFLOW_EXPERIMENT_ID and MLFLOW_RUN_ID itself.</p>
        </div>
        {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
        <Button type="submit" disabled={pending || !experimentId || estimate?.outcome === "refused" || (source === UPLOAD && !usableArchive)}>{estimate?.outcome === "queues" ? "Launch (will queue)" : "Launch training"}</Button>
      </div>
      <aside className="space-y-3 rounded-lg border border-stone-200 bg-white p-4 text-sm" aria-label="Estimate">
        <h2 className="font-semibold text-stone-900">Estimate</h2>
        {previewError && <p role="alert" className="text-red-700">{previewError}</p>}
        {!estimate && !previewError && <p className="text-stone-500">{experimentId ? "Calculating…" : "Choose an experiment."}</p>}
        {estimate && (
          <>
            <dl className="space-y-1">
              <div className="flex justify-between"><dt className="text-stone-600">Per hour</dt><dd className="font-medium" data-testid="cost-per-hour">{formatUsd(estimate.hourly_price_usd)}</dd></div>
              <div className="flex justify-between"><dt className="text-stone-600">For the max runtime</dt><dd className="font-medium" data-testid="cost-max">{formatUsd(estimate.max_cost_usd)}</dd></div>
            </dl>
            {estimate.quota && (
              <div>
                <h3 className="mt-2 text-xs font-semibold tracking-wide text-stone-500 uppercase">Team {estimate.team} headroom</h3>
                <dl className="mt-1 space-y-0.5 text-xs" data-testid="headroom">
                  <div className="flex justify-between"><dt>GPUs</dt><dd>{estimate.quota.gpus - estimate.used.gpus} of {estimate.quota.gpus} free</dd></div>
                  <div className="flex justify-between"><dt>CPU</dt><dd>{estimate.quota.cpu - estimate.used.cpu} of {estimate.quota.cpu} free</dd></div>
                  <div className="flex justify-between"><dt>Memory</dt><dd>{estimate.quota.memory_gib - estimate.used.memory_gib} of {estimate.quota.memory_gib} GiB free</dd></div>
                  <div className="flex justify-between"><dt>Job slots</dt><dd>{estimate.quota.max_concurrent_jobs - estimate.used.jobs} of {estimate.quota.max_concurrent_jobs} free</dd></div>
                </dl>
              </div>
            )}
            <p data-testid="admission" className={estimate.outcome === "runs" ? "text-emerald-800" : estimate.outcome === "queues" ? "text-amber-800" : "text-red-700"}>
              {estimate.outcome === "runs" ? "Starts right away." : estimate.outcome === "queues" ? `Will queue: ${estimate.reason}.` : `Cannot run: ${estimate.reason}.`}
            </p>
          </>
        )}
      </aside>
    </form>
  );
}
