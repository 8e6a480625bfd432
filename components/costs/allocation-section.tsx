// The Costs page's allocation section: a grouping menu (a GET form, so the view is a URL), the chargeback CSV
// download for the same view, and the split, efficiency and unit-cost tables.
import { buttonClass } from "@/components/ui/button";
import { formatUsd } from "@/lib/format";
import { Card } from "@/components/ui/card";
import type { AllocationDto } from "@/lib/schemas/costs";
import { ALLOCATION_GROUPINGS } from "@/lib/schemas/costs";
import { ALLOCATION_LABELS, AllocationTable, RunCostTable, UnitCostTable } from "./allocation-table";

const SELECT = "mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm";

type Props = {
  allocation: AllocationDto;
  /** The team efficiency view, when the allocation is grouped by something else. */
  byTeam: AllocationDto | null;
  perVersion: AllocationDto;
  perRun: AllocationDto;
  /** The page's other filters, kept when the grouping changes. */
  keep: Record<string, string>;
  /** The team filter the CSV is scoped to (undefined: all the viewer may read). */
  team?: string;
};

export function AllocationSection({ allocation, byTeam, perVersion, perRun, keep, team }: Props) {
  const csv = new URLSearchParams({ by: allocation.by, from: allocation.from, to: allocation.to, format: "csv", ...(team ? { team } : {}) });
  const teams = byTeam ?? allocation;
  return (
    <section aria-labelledby="allocation-heading" className="space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <div>
          <h2 id="allocation-heading" className="text-sm font-semibold text-stone-900">Allocation: CPU, memory, GPU and storage</h2>
          <p className="text-xs text-stone-500">
            Each job&apos;s and replica&apos;s hourly price is split across CPU, memory and GPU in proportion to the per-kind prices admins set; stored artifacts are charged per GiB-month.
            Efficiency is used ÷ requested where the backend measured usage; idle is what was requested but not used.
          </p>
        </div>
        <div className="flex items-end gap-3">
          <form method="get" className="flex items-end gap-2" aria-label="Allocation grouping">
            {Object.entries(keep).map(([k, v]) => <input key={k} type="hidden" name={k} value={v} />)}
            <div>
              <label htmlFor="allocation-by" className="block text-xs text-stone-600">Allocate by</label>
              <select id="allocation-by" name="by" defaultValue={allocation.by} className={SELECT}>
                {ALLOCATION_GROUPINGS.map((g) => <option key={g} value={g}>{ALLOCATION_LABELS[g]}</option>)}
              </select>
            </div>
            <button type="submit" className={buttonClass("secondary", "sm")}>Show</button>
          </form>
          <a href={`/api/v1/costs/allocation?${csv}`} download className={buttonClass("secondary", "sm")}>Download CSV</a>
        </div>
      </div>
      <AllocationTable by={allocation.by} rows={allocation.rows} total={allocation.total} />
      <Card title="Efficiency and idle cost by team">
        <ul className="space-y-1 text-sm">
          {teams.rows.length === 0 && <li className="text-stone-600">No costs in this window.</li>}
          {teams.rows.map((r) => (
            <li key={r.key} className="flex flex-wrap justify-between gap-2">
              <span className="font-medium">{r.name}</span>
              <span className="text-stone-700">
                {r.efficiency === null
                  ? <>efficiency {r.usage_note?.startsWith("usage not readable") ? "usage not readable" : "not measured"}<span className="text-xs text-stone-500"> — {r.usage_note ?? "no usage samples"}</span></>
                  : <>efficiency {(r.efficiency * 100).toFixed(0)} % · idle {r.idle_usd === null ? "—" : formatUsd(r.idle_usd)}{r.usage === "partly measured" && <span className="text-xs text-stone-500"> (partly measured: {r.usage_note})</span>}</>}
              </span>
            </li>
          ))}
        </ul>
        <p className="mt-2 text-xs text-stone-500">GPU use is not measured: GPU cost counts as requested. CPU and memory used are sampled from jobs and from serving replicas (processes locally, pods on Kubernetes).</p>
      </Card>
      <div className="grid gap-6 xl:grid-cols-2">
        <section aria-labelledby="unit-costs-heading" className="space-y-2">
          <h2 id="unit-costs-heading" className="text-sm font-semibold text-stone-900">Cost per model version and per 1,000 predictions</h2>
          <UnitCostTable rows={perVersion.rows} />
        </section>
        <section aria-labelledby="run-costs-heading" className="space-y-2">
          <h2 id="run-costs-heading" className="text-sm font-semibold text-stone-900">Cost per run</h2>
          <RunCostTable rows={perRun.rows} />
        </section>
      </div>
    </section>
  );
}
