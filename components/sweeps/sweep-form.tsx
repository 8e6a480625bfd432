"use client";

// The New sweep form: the trials' job (code, command, instance type), the search space row by row, the objective,
// the algorithm (Bayesian only where the server has Optuna — else it says what it needs), budget and early stopping.
import { useRouter } from "next/navigation";
import { useState, useTransition } from "react";
import { Button } from "@/components/ui/button";
import { SelectField, TextField } from "@/components/ui/field";
import type { ActionResult } from "@/lib/action-result";
import { joinCommand, splitCommand } from "@/lib/command-line";
import type { CreateSweepInput } from "@/lib/schemas/sweeps";

type ParamType = "uniform" | "log_uniform" | "int" | "categorical" | "fixed";
type Row = { key: number; name: string; type: ParamType; low: string; high: string; values: string };
type Input = { experimentId: string; spec: unknown };

export type SweepFormDefaults = { source: string; command: string[]; metric: string; direction: "minimize" | "maximize"; space: Omit<Row, "key">[] };

const TYPES: { value: ParamType; label: string }[] = [
  { value: "uniform", label: "uniform" }, { value: "log_uniform", label: "log-uniform" }, { value: "int", label: "int" },
  { value: "categorical", label: "categorical" }, { value: "fixed", label: "fixed" },
];

const num = (s: string) => (s.trim() === "" ? Number.NaN : Number(s));
const valueOf = (s: string): string | number => (s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s.trim());

function paramOf(r: Row): unknown {
  switch (r.type) {
    case "categorical": return { name: r.name.trim(), type: r.type, values: r.values.split(",").map((v) => v.trim()).filter(Boolean).map(valueOf) };
    case "fixed": return { name: r.name.trim(), type: r.type, value: valueOf(r.values) };
    default: return { name: r.name.trim(), type: r.type, low: num(r.low), high: num(r.high) };
  }
}

/** The service's message, or the schema's field messages when the input did not parse. */
function describe(r: { error: string; fieldErrors?: Record<string, string[]> }): string {
  if (!r.fieldErrors || !r.error.startsWith("Please correct")) return r.error;
  return Object.entries(r.fieldErrors).map(([k, v]) => `${k.replace(/^spec\./, "")}: ${v.join(", ")}`).join("; ");
}

export function SweepForm({ experimentId, examples, instanceTypes, bayesian, defaults, submit }: {
  experimentId: string;
  examples: { source: string; command: string[] }[];
  instanceTypes: string[];
  bayesian: { available: boolean; message: string };
  defaults: SweepFormDefaults;
  submit: (input: Input) => Promise<ActionResult<string>>;
}) {
  const router = useRouter();
  const [name, setName] = useState("");
  const [source, setSource] = useState(defaults.source);
  const [command, setCommand] = useState(joinCommand(defaults.command));
  const [instanceType, setInstanceType] = useState(instanceTypes.includes("cpu.small") ? "cpu.small" : (instanceTypes[0] ?? ""));
  const [rows, setRows] = useState<Row[]>(defaults.space.map((r, i) => ({ ...r, key: i })));
  const [metric, setMetric] = useState(defaults.metric);
  const [direction, setDirection] = useState(defaults.direction);
  const [algorithm, setAlgorithm] = useState<CreateSweepInput["algorithm"]>("random");
  const [maxTrials, setMaxTrials] = useState("20");
  const [parallelism, setParallelism] = useState("2");
  const [seed, setSeed] = useState("");
  const [stopping, setStopping] = useState<"none" | "median">("none");
  const [minTrials, setMinTrials] = useState("3");
  const [minSteps, setMinSteps] = useState("5");
  const [retries, setRetries] = useState("0");
  const [error, setError] = useState<string>();
  const [fieldErrors, setFieldErrors] = useState<Record<string, string[]>>({});
  const [pending, startTransition] = useTransition();
  const fe = (k: string) => fieldErrors[`spec.${k}`] ?? fieldErrors[k];
  const update = (key: number, patch: Partial<Row>) => setRows((rs) => rs.map((r) => (r.key === key ? { ...r, ...patch } : r)));

  const spec = () => ({
    ...(name.trim() ? { name: name.trim() } : {}),
    space: rows.map(paramOf),
    objective: { metric: metric.trim(), direction },
    algorithm,
    max_trials: num(maxTrials),
    parallelism: num(parallelism),
    ...(seed.trim() ? { seed: num(seed) } : {}),
    early_stopping: stopping === "median" ? { type: "median", min_trials: num(minTrials), min_steps: num(minSteps) } : { type: "none" },
    template: { ...(source ? { source } : {}), ...(splitCommand(command).length ? { command: splitCommand(command) } : {}), instance_type: instanceType, retries: num(retries) },
  });

  return (
    <form
      aria-label="New sweep"
      className="space-y-6"
      onSubmit={(e) => {
        e.preventDefault();
        startTransition(async () => {
          const r = await submit({ experimentId, spec: spec() });
          if (!r.ok) { setError(describe(r)); setFieldErrors(r.fieldErrors ?? {}); return; }
          router.push(`/sweeps/${r.data}`);
        });
      }}
    >
      <fieldset className="grid gap-4 sm:grid-cols-3">
        <legend className="mb-2 text-sm font-semibold text-stone-900">Trials&apos; job</legend>
        <TextField id="sweep-name" label="Sweep name" value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />
        <SelectField id="sweep-source" label="Code" value={source} onChange={(e) => { setSource(e.target.value); const ex = examples.find((x) => x.source === e.target.value); if (ex) setCommand(joinCommand(ex.command)); }}>
          <option value="">No code (command only)</option>
          {examples.map((x) => <option key={x.source} value={x.source}>Built-in: {x.source}</option>)}
        </SelectField>
        <SelectField id="sweep-instance-type" label="Instance type" value={instanceType} onChange={(e) => setInstanceType(e.target.value)}>
          {instanceTypes.map((t) => <option key={t} value={t}>{t}</option>)}
        </SelectField>
        <TextField id="sweep-command" className="sm:col-span-2" label="Command" value={command} onChange={(e) => setCommand(e.target.value)} error={fe("template.command")} hint="Each trial runs this with its params added as --<name>=<value>." />
        <TextField id="sweep-retries" label="Retries per trial" type="number" min={0} max={5} value={retries} onChange={(e) => setRetries(e.target.value)} error={fe("template.retries")} />
      </fieldset>

      <fieldset>
        <legend className="mb-2 text-sm font-semibold text-stone-900">Search space</legend>
        <div className="space-y-2">
          {rows.map((r, i) => (
            <div key={r.key} role="group" aria-label={`Param ${i + 1}`} className="grid items-end gap-2 sm:grid-cols-[1fr_1fr_1fr_1fr_auto]">
              <TextField id={`param-${r.key}-name`} label="Param name" value={r.name} onChange={(e) => update(r.key, { name: e.target.value })} error={fe(`space.${i}.name`)} />
              <SelectField id={`param-${r.key}-type`} label="Type" value={r.type} onChange={(e) => update(r.key, { type: e.target.value as ParamType })} error={fe(`space.${i}.type`)}>
                {TYPES.map((t) => <option key={t.value} value={t.value}>{t.label}</option>)}
              </SelectField>
              {r.type === "categorical" || r.type === "fixed" ? (
                <TextField id={`param-${r.key}-values`} className="sm:col-span-2" label={r.type === "fixed" ? "Value" : "Values (comma-separated)"} value={r.values} onChange={(e) => update(r.key, { values: e.target.value })} error={fe(`space.${i}.values`) ?? fe(`space.${i}.value`)} />
              ) : (
                <>
                  <TextField id={`param-${r.key}-low`} label="Low" inputMode="decimal" value={r.low} onChange={(e) => update(r.key, { low: e.target.value })} error={fe(`space.${i}.low`)} />
                  <TextField id={`param-${r.key}-high`} label="High" inputMode="decimal" value={r.high} onChange={(e) => update(r.key, { high: e.target.value })} error={fe(`space.${i}.high`)} />
                </>
              )}
              <Button type="button" variant="ghost" size="sm" aria-label={`Remove param ${r.name || i + 1}`} onClick={() => setRows((rs) => rs.filter((x) => x.key !== r.key))}>Remove</Button>
            </div>
          ))}
        </div>
        {fe("space") && <p role="alert" className="mt-1 text-xs text-red-700">{fe("space")!.join(" ")}</p>}
        <Button type="button" variant="secondary" size="sm" className="mt-2" onClick={() => setRows((rs) => [...rs, { key: Math.max(-1, ...rs.map((x) => x.key)) + 1, name: "", type: "uniform", low: "", high: "", values: "" }])}>Add param</Button>
      </fieldset>

      <fieldset className="grid gap-4 sm:grid-cols-4">
        <legend className="mb-2 text-sm font-semibold text-stone-900">Objective and search</legend>
        <TextField id="sweep-metric" label="Objective metric" value={metric} onChange={(e) => setMetric(e.target.value)} error={fe("objective.metric")} />
        <SelectField id="sweep-direction" label="Direction" value={direction} onChange={(e) => setDirection(e.target.value as "minimize" | "maximize")}>
          <option value="maximize">maximize</option><option value="minimize">minimize</option>
        </SelectField>
        <SelectField id="sweep-algorithm" label="Algorithm" value={algorithm} onChange={(e) => setAlgorithm(e.target.value as CreateSweepInput["algorithm"])} error={fe("algorithm")}
          hint={bayesian.available ? `Bayesian: ${bayesian.message}` : `Bayesian needs Optuna on the server: ${bayesian.message}`}>
          <option value="random">random</option>
          <option value="grid">grid</option>
          <option value="bayesian" disabled={!bayesian.available}>{bayesian.available ? "Bayesian (Optuna TPE)" : "Bayesian (needs Optuna)"}</option>
        </SelectField>
        <TextField id="sweep-seed" label="Seed" type="number" min={0} value={seed} onChange={(e) => setSeed(e.target.value)} placeholder="random" />
        <TextField id="sweep-max-trials" label="Max trials" type="number" min={1} max={500} value={maxTrials} onChange={(e) => setMaxTrials(e.target.value)} error={fe("max_trials")} />
        <TextField id="sweep-parallelism" label="Parallel trials" type="number" min={1} max={50} value={parallelism} onChange={(e) => setParallelism(e.target.value)} error={fe("parallelism")} hint="They still queue under the team's quota." />
        <SelectField id="sweep-early-stopping" label="Early stopping" value={stopping} onChange={(e) => setStopping(e.target.value as "none" | "median")}>
          <option value="none">none</option><option value="median">median rule</option>
        </SelectField>
        {stopping === "median" && (
          <div className="grid grid-cols-2 gap-2">
            <TextField id="sweep-min-trials" label="After trials" type="number" min={1} value={minTrials} onChange={(e) => setMinTrials(e.target.value)} error={fe("early_stopping.min_trials")} />
            <TextField id="sweep-min-steps" label="After steps" type="number" min={0} value={minSteps} onChange={(e) => setMinSteps(e.target.value)} error={fe("early_stopping.min_steps")} />
          </div>
        )}
      </fieldset>
      {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
      <Button type="submit" disabled={pending}>{pending ? "Starting…" : "Start sweep"}</Button>
    </form>
  );
}
