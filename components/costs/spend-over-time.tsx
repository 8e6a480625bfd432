import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatUsd } from "@/lib/format";
import { SpendChart } from "./spend-chart";
import { dayOf, stackSeries } from "./stack-series";
import type { CostSeries } from "./types";

/** Spend per day as a stacked chart, with the same numbers as a table for those who cannot see it. */
export function SpendOverTime({ series, groupLabel }: { series: CostSeries[]; groupLabel: string }) {
  const stack = stackSeries(series);
  const hasSpend = stack.rows.some((r) => r.amounts.some((a) => a > 0));
  return (
    <div className="space-y-3">
      {hasSpend ? (
        <SpendChart stack={stack} title={`Spend by day and ${groupLabel.toLowerCase()}`} />
      ) : (
        <p className="py-8 text-center text-sm text-stone-500">No costs in this window. Costs appear once a job runs or a deployment serves.</p>
      )}
      <details className="text-sm">
        <summary className="cursor-pointer text-stone-600 hover:text-stone-900">Show as a table</summary>
        <div className="mt-2">
          <Table caption="Spend by day">
            <thead>
              <tr><Th>Day (UTC)</Th>{stack.keys.map((k) => <Th key={k} className="text-right"><span className="font-mono normal-case">{k}</span></Th>)}<Th className="text-right">Total</Th></tr>
            </thead>
            <tbody className="divide-y divide-stone-100">
              {stack.rows.length === 0 && <EmptyRow colSpan={2}>No costs in this window.</EmptyRow>}
              {stack.rows.map((r) => (
                <tr key={r.t}>
                  <Td className="whitespace-nowrap tabular-nums">{dayOf(r.t)}</Td>
                  {r.amounts.map((a, i) => <Td key={stack.keys[i]} className="text-right tabular-nums">{formatUsd(a)}</Td>)}
                  <Td className="text-right font-medium tabular-nums">{formatUsd(r.amounts.reduce((s, a) => s + a, 0))}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        </div>
      </details>
    </div>
  );
}
