import Link from "next/link";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatUsd } from "@/lib/format";
import type { CostGroup, CostTotal } from "./types";

/** Where a key leads: runs, deployments and teams have pages; users, resources and kinds do not. */
function hrefOf(group: CostGroup, key: string): string | null {
  if (key === "—") return null;
  switch (group) {
    case "run": return `/runs/${encodeURIComponent(key)}`;
    case "deployment": return `/deployments/${encodeURIComponent(key)}`;
    case "team": return `/teams/${encodeURIComponent(key)}`;
    default: return null;
  }
}

const percent = (part: number, whole: number) => (whole > 0 ? `${((part / whole) * 100).toFixed(1)} %` : "—");

/** Total cost per key over the window, largest first, with each key's share and a total row. */
export function CostTotalsTable({ group, groupLabel, totals, labels = {} }: { group: CostGroup; groupLabel: string; totals: CostTotal[]; labels?: Record<string, string> }) {
  const total = totals.reduce((sum, t) => sum + t.amount, 0);
  const isId = group === "run" || group === "deployment";
  return (
    <Table caption={`Cost by ${groupLabel.toLowerCase()}`}>
      <thead>
        <tr><Th>{groupLabel}</Th><Th className="text-right">Cost</Th><Th className="text-right">Share</Th></tr>
      </thead>
      <tbody className="divide-y divide-stone-100">
        {totals.length === 0 && <EmptyRow colSpan={3}>No costs in this window. Try a longer window, or launch a job from Jobs.</EmptyRow>}
        {totals.map((t) => {
          const href = hrefOf(group, t.key);
          const named = labels[t.key];
          const label = <span className={(isId && !named) || group === "team" || group === "resource" ? "font-mono text-xs" : undefined}>{named ?? t.key}</span>;
          return (
            <tr key={t.key} className="hover:bg-stone-50">
              <Td>{href ? <Link href={href} className="text-teal-800 hover:underline">{label}</Link> : label}</Td>
              <Td className="text-right tabular-nums">{formatUsd(t.amount)}</Td>
              <Td className="text-right text-stone-600 tabular-nums">{percent(t.amount, total)}</Td>
            </tr>
          );
        })}
      </tbody>
      {totals.length > 0 && (
        <tfoot className="border-t border-stone-200 bg-stone-50">
          <tr>
            <Th scope="row"><span className="text-sm normal-case">Total</span></Th>
            <Td className="text-right font-semibold tabular-nums">{formatUsd(total)}</Td>
            <Td className="text-right text-stone-600 tabular-nums">100 %</Td>
          </tr>
        </tfoot>
      )}
    </Table>
  );
}
