import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDelta, formatValue, metricChange } from "./format";

export type MetricComparison = { key: string; candidate: number | null; current: number | null };

const CHANGE_CLASS = { better: "text-emerald-700", worse: "text-red-700", same: "text-stone-500" } as const;

/** The candidate's latest metrics beside production's; each change says in words whether it improves. */
export function MetricsTable({ metrics, candidateVersion, currentVersion }: { metrics: MetricComparison[]; candidateVersion: number; currentVersion: number | null }) {
  return (
    <Table caption="Metrics: candidate vs. production">
      <thead>
        <tr>
          <Th>Metric</Th>
          <Th className="text-right">Candidate v{candidateVersion}</Th>
          <Th className="text-right">{currentVersion === null ? "Production (nothing in production)" : `Production v${currentVersion}`}</Th>
          <Th className="text-right">Change</Th>
        </tr>
      </thead>
      <tbody className="divide-y divide-stone-100">
        {metrics.length === 0 && <EmptyRow colSpan={4}>Neither source run logged metrics, so there is nothing to compare. Check the runs before deciding.</EmptyRow>}
        {metrics.map((m) => {
          const change = metricChange(m.key, m.candidate, m.current);
          return (
            <tr key={m.key} data-change={change?.direction}>
              <Td className="font-mono text-xs">{m.key}</Td>
              <Td className="text-right font-mono text-xs tabular-nums">{formatValue(m.candidate)}</Td>
              <Td className="text-right font-mono text-xs tabular-nums">{formatValue(m.current)}</Td>
              <Td className="text-right font-mono text-xs tabular-nums">
                {/* The colour sits on an inner span: Td already sets a text colour. */}
                {change ? <span className={CHANGE_CLASS[change.direction]}>{formatDelta(change.delta)}{change.direction !== "same" && <span className="ml-1 font-sans">({change.direction})</span>}</span> : "—"}
              </Td>
            </tr>
          );
        })}
      </tbody>
    </Table>
  );
}
