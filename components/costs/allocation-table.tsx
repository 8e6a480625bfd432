// The cost allocation tables of the Costs page: the split by resource kind per group, efficiency and idle cost
// per team, and unit costs (per run, per model version with training + serving, per 1,000 predictions).
import Link from "next/link";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatUsd } from "@/lib/format";
import type { AllocationGrouping, AllocationRow } from "@/lib/schemas/costs";

export const ALLOCATION_LABELS: Record<AllocationGrouping, string> = {
  team: "Team", user: "User", experiment: "Experiment", job: "Job", run: "Run", model: "Model", model_version: "Model version", environment: "Environment",
};

const pct = (v: number | null) => (v === null ? null : `${(v * 100).toFixed(0)} %`);

/** Efficiency as a percentage, or why there is none (never a blank that reads as 0). */
export function Efficiency({ row }: { row: AllocationRow }) {
  if (row.efficiency === null) return <span className="text-xs text-stone-500" title={row.usage_note ?? undefined}>{row.usage_note?.startsWith("usage not readable") ? "usage not readable" : "not measured"}</span>;
  return (
    <span title={`CPU ${pct(row.cpu_efficiency) ?? "not measured"} · memory ${pct(row.memory_efficiency) ?? "not measured"}${row.gpu_usd > 0 ? ` · GPU ${pct(row.gpu_efficiency) ?? "as requested"}` : ""}${row.usage === "partly measured" ? ` · ${row.usage}: ${row.usage_note ?? ""}` : ""}`}>
      {pct(row.efficiency)}{row.usage === "partly measured" && <span className="text-xs text-stone-500"> (partly measured)</span>}
    </span>
  );
}

function Gpu({ row }: { row: AllocationRow }) {
  return (
    <>
      {formatUsd(row.gpu_usd)}
      {row.gpu_by_type.filter((g) => g.usd > 0).map((g) => <div key={g.gpu_type} className="text-xs text-stone-500">{g.gpu_type}: {formatUsd(g.usd)}</div>)}
    </>
  );
}

/** Cost per group split into CPU, memory, GPU (by type) and storage, with efficiency and idle cost. */
export function AllocationTable({ by, rows, total }: { by: AllocationGrouping; rows: AllocationRow[]; total: AllocationRow }) {
  const label = ALLOCATION_LABELS[by];
  const unsplit = total.unsplit_usd > 0;
  const line = (r: AllocationRow, isTotal = false) => (
    <tr key={r.key} className={isTotal ? "bg-stone-50 font-medium" : "hover:bg-stone-50"}>
      <Td>{r.name}{!isTotal && by !== "team" && r.teams.length > 0 && <div className="text-xs text-stone-500">{r.teams.join(", ")}</div>}</Td>
      <Td className="text-right tabular-nums">{formatUsd(r.cpu_usd)}</Td>
      <Td className="text-right tabular-nums">{formatUsd(r.memory_usd)}</Td>
      <Td className="text-right tabular-nums"><Gpu row={r} /></Td>
      <Td className="text-right tabular-nums">{formatUsd(r.storage_usd)}</Td>
      {unsplit && <Td className="text-right tabular-nums">{formatUsd(r.unsplit_usd)}</Td>}
      <Td className="text-right tabular-nums font-medium">{formatUsd(r.total_usd)}</Td>
      <Td className="text-right tabular-nums"><Efficiency row={r} /></Td>
      <Td className="text-right tabular-nums">{r.idle_usd === null ? <span className="text-xs text-stone-500">—</span> : formatUsd(r.idle_usd)}</Td>
    </tr>
  );
  return (
    <Table caption={`Cost allocation by ${label.toLowerCase()}`}>
      <thead>
        <tr>
          <Th>{label}</Th><Th className="text-right">CPU</Th><Th className="text-right">Memory</Th><Th className="text-right">GPU</Th><Th className="text-right">Storage</Th>
          {unsplit && <Th className="text-right">Not split</Th>}
          <Th className="text-right">Total</Th><Th className="text-right">Efficiency</Th><Th className="text-right">Idle</Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-stone-100">
        {rows.length === 0 && <EmptyRow colSpan={unsplit ? 9 : 8}>No costs in this window. Try a longer window, or launch a job from Jobs.</EmptyRow>}
        {rows.map((r) => line(r))}
        {rows.length > 0 && line(total, true)}
      </tbody>
    </Table>
  );
}

/** Per model version: what training its run cost, what serving it cost, its predictions and the cost per 1,000. */
export function UnitCostTable({ rows }: { rows: AllocationRow[] }) {
  const versions = rows.filter((r) => !r.key.startsWith("~"));
  return (
    <Table caption="Cost per model version and per 1,000 predictions">
      <thead>
        <tr><Th>Model version</Th><Th className="text-right">Training (its run)</Th><Th className="text-right">Serving</Th><Th className="text-right">Total</Th><Th className="text-right">Predictions</Th><Th className="text-right">Per 1,000 predictions</Th></tr>
      </thead>
      <tbody className="divide-y divide-stone-100">
        {versions.length === 0 && <EmptyRow colSpan={6}>No model version has cost anything in this window. Register a model from a run, then deploy it.</EmptyRow>}
        {versions.map((r) => (
          <tr key={r.key} className="hover:bg-stone-50">
            <Td>{r.name}<div className="text-xs text-stone-500">{r.teams.join(", ")}</div></Td>
            <Td className="text-right tabular-nums">{formatUsd(r.training_usd)}</Td>
            <Td className="text-right tabular-nums">{formatUsd(r.serving_usd)}</Td>
            <Td className="text-right tabular-nums font-medium">{formatUsd(r.total_usd)}</Td>
            <Td className="text-right tabular-nums">{(r.predictions ?? 0).toLocaleString("en-US")}</Td>
            <Td className="text-right tabular-nums">{r.cost_per_1000_predictions_usd === null ? <span className="text-xs text-stone-500">no predictions</span> : formatUsd(r.cost_per_1000_predictions_usd)}</Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}

/** Per run: its cost (training jobs), largest first. */
export function RunCostTable({ rows, limit = 10 }: { rows: AllocationRow[]; limit?: number }) {
  const runs = rows.filter((r) => !r.key.startsWith("~")).slice(0, limit);
  return (
    <Table caption="Cost per run">
      <thead><tr><Th>Run</Th><Th className="text-right">CPU</Th><Th className="text-right">Memory</Th><Th className="text-right">GPU</Th><Th className="text-right">Total</Th><Th className="text-right">Efficiency</Th></tr></thead>
      <tbody className="divide-y divide-stone-100">
        {runs.length === 0 && <EmptyRow colSpan={6}>No run has cost anything in this window. Launch a training job from an experiment.</EmptyRow>}
        {runs.map((r) => (
          <tr key={r.key} className="hover:bg-stone-50">
            <Td><Link href={`/runs/${encodeURIComponent(r.key)}`} className="text-teal-800 hover:underline">{r.name}</Link><div className="text-xs text-stone-500">{r.teams.join(", ")}</div></Td>
            <Td className="text-right tabular-nums">{formatUsd(r.cpu_usd)}</Td>
            <Td className="text-right tabular-nums">{formatUsd(r.memory_usd)}</Td>
            <Td className="text-right tabular-nums"><Gpu row={r} /></Td>
            <Td className="text-right tabular-nums font-medium">{formatUsd(r.total_usd)}</Td>
            <Td className="text-right tabular-nums"><Efficiency row={r} /></Td>
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
