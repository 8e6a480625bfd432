"use client";

import { useVirtualizer } from "@tanstack/react-virtual";
import Link from "next/link";
import { useRef } from "react";
import type { ColumnId } from "@/lib/runs-table";
import { columnSortKey } from "@/lib/runs-table";
import { formatRelative } from "@/lib/format";
import type { RunRowDto } from "@/lib/schemas/experiments";
import { Badge } from "@/components/ui/badge";
import { formatDuration, formatMetric, STATUS_TONE } from "./format";

export type RunRow = RunRowDto;

const ROW_HEIGHT = 37;

function cell(run: RunRow, col: ColumnId): string {
  const dot = col.indexOf(".");
  const kind = col.slice(0, dot);
  const key = col.slice(dot + 1);
  if (kind === "metrics") return formatMetric(run.metrics[key]);
  if (kind === "params") return run.params[key] ?? "—";
  return run.tags[key] ?? "—";
}

type Props = {
  runs: RunRow[];
  cols: ColumnId[];
  order: string;
  selected: Set<string>;
  onToggle: (id: string) => void;
  onToggleAll: () => void;
  onSort: (order: string) => void;
};

function SortHeader({ label, sortKey, order, onSort, numeric }: { label: string; sortKey: string; order: string; onSort: (o: string) => void; numeric?: boolean }) {
  const [key, dir] = order.split(/\s+/);
  const active = key === sortKey;
  const next = active && dir?.toUpperCase() === "DESC" ? `${sortKey} ASC` : `${sortKey} DESC`;
  return (
    <th scope="col" aria-sort={active ? (dir?.toUpperCase() === "DESC" ? "descending" : "ascending") : "none"} className={`sticky top-0 z-10 bg-stone-50 px-3 py-2 text-xs font-semibold whitespace-nowrap text-stone-600 ${numeric ? "text-right" : "text-left"}`}>
      <button type="button" onClick={() => onSort(next)} className="inline-flex items-center gap-1 hover:text-stone-900" title={`Sort by ${sortKey}`}>
        {label}
        <span aria-hidden className={active ? "text-teal-700" : "text-stone-300"}>{active && dir?.toUpperCase() === "ASC" ? "▲" : "▼"}</span>
      </button>
    </th>
  );
}

/** Virtualized rows that keep table/row semantics: spacer rows stand in for the rows off screen. */
export function RunsTable({ runs, cols, order, selected, onToggle, onToggleAll, onSort }: Props) {
  const parentRef = useRef<HTMLDivElement>(null);
  // initialRect lets the server render the first screen of rows before the browser measures.
  // eslint-disable-next-line react-hooks/incompatible-library -- not compiled with React Compiler; the virtualizer re-renders itself
  const virtualizer = useVirtualizer({ count: runs.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12, initialRect: { width: 1280, height: 720 } });
  const items = virtualizer.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);
  const allChecked = runs.length > 0 && runs.every((r) => selected.has(r.run_id));
  const width = 6 + cols.length;
  return (
    <div ref={parentRef} className="max-h-[70vh] overflow-auto rounded-lg border border-stone-200 bg-white" data-testid="runs-scroll">
      <table className="min-w-full text-sm" aria-rowcount={runs.length + 1}>
        <caption className="sr-only">Runs</caption>
        <thead>
          <tr>
            <th scope="col" className="sticky top-0 z-10 w-8 bg-stone-50 px-3 py-2">
              <input type="checkbox" aria-label="Select all runs on this page" checked={allChecked} onChange={onToggleAll} />
            </th>
            <SortHeader label="Run" sortKey="attributes.run_name" order={order} onSort={onSort} />
            <SortHeader label="Status" sortKey="attributes.status" order={order} onSort={onSort} />
            <SortHeader label="Started" sortKey="attributes.start_time" order={order} onSort={onSort} />
            <th scope="col" className="sticky top-0 z-10 bg-stone-50 px-3 py-2 text-left text-xs font-semibold text-stone-600">Duration</th>
            <SortHeader label="User" sortKey="attributes.user_id" order={order} onSort={onSort} />
            {cols.map((c) => (
              <SortHeader key={c} label={c.replace(/^metrics\./, "").replace(/^params\./, "").replace(/^tags\./, "#")} sortKey={columnSortKey(c)} order={order} onSort={onSort} numeric={c.startsWith("metrics.")} />
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {runs.length === 0 && (
            <tr><td colSpan={width} className="px-3 py-10 text-center text-stone-500">No runs match. Loosen the filter, or log a run with mlflow.start_run().</td></tr>
          )}
          {top > 0 && <tr aria-hidden style={{ height: top }}><td colSpan={width} /></tr>}
          {items.map((item) => {
            const run = runs[item.index]!;
            return (
              <tr key={run.run_id} data-index={item.index} aria-rowindex={item.index + 2} style={{ height: ROW_HEIGHT }} className={selected.has(run.run_id) ? "bg-teal-50/60" : "hover:bg-stone-50"}>
                <td className="px-3"><input type="checkbox" aria-label={`Select ${run.run_name}`} checked={selected.has(run.run_id)} onChange={() => onToggle(run.run_id)} /></td>
                <td className="max-w-[16rem] truncate px-3 whitespace-nowrap">
                  {run.parent_run_id && <span aria-label="child run" className="mr-1 text-stone-400">↳</span>}
                  <Link href={`/runs/${run.run_id}`} prefetch={false} className="font-medium text-teal-800 hover:underline">{run.run_name}</Link>
                </td>
                <td className="px-3"><Badge tone={STATUS_TONE[run.status] ?? "neutral"}>{run.status.toLowerCase()}</Badge></td>
                <td className="px-3 whitespace-nowrap text-stone-600" title={new Date(run.start_time).toISOString()} suppressHydrationWarning>{formatRelative(new Date(run.start_time).toISOString())}</td>
                <td className="px-3 whitespace-nowrap text-stone-600 tabular-nums" suppressHydrationWarning>{formatDuration(run.end_time === null ? (run.status === "RUNNING" ? Date.now() - run.start_time : null) : run.end_time - run.start_time)}</td>
                <td className="max-w-[12rem] truncate px-3 text-xs text-stone-600">{run.user_id}</td>
                {cols.map((c) => (
                  <td key={c} className={`max-w-[12rem] truncate px-3 whitespace-nowrap ${c.startsWith("metrics.") ? "text-right font-mono text-xs tabular-nums" : "font-mono text-xs"}`}>{cell(run, c)}</td>
                ))}
              </tr>
            );
          })}
          {bottom > 0 && <tr aria-hidden style={{ height: bottom }}><td colSpan={width} /></tr>}
        </tbody>
      </table>
    </div>
  );
}
