"use client";

import { useVirtualizer } from "@tanstack/react-virtual";
import Link from "next/link";
import { useMemo, useRef, useState } from "react";
import type { ColumnFormat } from "@/lib/column-precision";
import { columnFormat, formatInColumn } from "@/lib/column-precision";
import type { ColumnId } from "@/lib/runs-table";
import { columnSortKey } from "@/lib/runs-table";
import { groupRuns, visibleRows } from "@/lib/run-tree";
import { formatRelative } from "@/lib/format";
import type { RunRowDto } from "@/lib/schemas/experiments";
import { Badge } from "@/components/ui/badge";
import { formatDuration, STATUS_TONE } from "./format";

export type RunRow = RunRowDto;

const ROW_HEIGHT = 37;

/** A cell's text, and its full value for the tooltip when the column's format rounds it. */
function cell(run: RunRow, col: ColumnId, format: ColumnFormat | undefined): { text: string; title?: string } {
  const dot = col.indexOf(".");
  const kind = col.slice(0, dot);
  const key = col.slice(dot + 1);
  if (kind === "metrics") {
    const v = run.metrics[key];
    const text = formatInColumn(v, format ?? { kind: "fixed", decimals: 0 });
    return { text, title: typeof v === "number" ? String(v) : undefined };
  }
  const text = (kind === "params" ? run.params[key] : run.tags[key]) ?? "—";
  return { text, title: text.length > 24 ? text : undefined };
}

// The checkbox and run-name columns stay put while the table scrolls sideways; they need an opaque background.
const PIN_CHECK = "sticky left-0 w-10 min-w-10 max-w-10";
// A shadow, not a border: a collapsed table border stays behind when the cell sticks.
const PIN_NAME = "sticky left-10 shadow-[1px_0_0_0_var(--color-stone-200)]";

type Props = {
  runs: RunRow[];
  cols: ColumnId[];
  order: string;
  selected: Set<string>;
  onToggle: (id: string) => void;
  onToggleAll: () => void;
  onSort: (order: string) => void;
};

function SortHeader({ label, sortKey, order, onSort, numeric, className = "z-10" }: { label: string; sortKey: string; order: string; onSort: (o: string) => void; numeric?: boolean; className?: string }) {
  const [key, dir] = order.split(/\s+/);
  const active = key === sortKey;
  const next = active && dir?.toUpperCase() === "DESC" ? `${sortKey} ASC` : `${sortKey} DESC`;
  return (
    <th scope="col" aria-sort={active ? (dir?.toUpperCase() === "DESC" ? "descending" : "ascending") : "none"} className={`sticky top-0 ${className} bg-stone-50 px-3 py-2 text-xs font-semibold whitespace-nowrap text-stone-600 ${numeric ? "text-right" : "text-left"}`}>
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
  // Child runs (tag mlflow.parentRunId) sit under their parent when it is on this page, collapsed at first.
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set());
  const forest = useMemo(() => groupRuns(runs), [runs]);
  const rows = useMemo(() => visibleRows(forest, expanded), [forest, expanded]);
  const toggleExpanded = (id: string) => setExpanded((s) => { const n = new Set(s); if (n.has(id)) n.delete(id); else n.add(id); return n; });
  // One format per metric column, from every value on the page (shown or folded away), so it does not shift on expand.
  const formats = useMemo(() => new Map(cols.filter((c) => c.startsWith("metrics.")).map((c) => {
    const key = c.slice("metrics.".length);
    return [c, columnFormat(runs.map((r) => r.metrics[key]))] as const;
  })), [runs, cols]);
  // initialRect lets the server render the first screen of rows before the browser measures.
  // eslint-disable-next-line react-hooks/incompatible-library -- not compiled with React Compiler; the virtualizer re-renders itself
  const virtualizer = useVirtualizer({ count: rows.length, getScrollElement: () => parentRef.current, estimateSize: () => ROW_HEIGHT, overscan: 12, initialRect: { width: 1280, height: 720 } });
  const items = virtualizer.getVirtualItems();
  const top = items[0]?.start ?? 0;
  const bottom = virtualizer.getTotalSize() - (items.at(-1)?.end ?? 0);
  const allChecked = runs.length > 0 && runs.every((r) => selected.has(r.run_id));
  const width = 6 + cols.length;
  return (
    <div ref={parentRef} className="max-h-[70vh] overflow-auto rounded-lg border border-stone-200 bg-white" data-testid="runs-scroll">
      <table className="min-w-full text-sm" aria-rowcount={rows.length + 1}>
        <caption className="sr-only">Runs</caption>
        <thead>
          <tr>
            <th scope="col" className={`${PIN_CHECK} top-0 z-30 bg-stone-50 px-3 py-2`}>
              <input type="checkbox" aria-label="Select all runs on this page" checked={allChecked} onChange={onToggleAll} />
            </th>
            <SortHeader label="Run" sortKey="attributes.run_name" order={order} onSort={onSort} className={`${PIN_NAME} z-30`} />
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
            const { run, depth, childCount, expanded: open } = rows[item.index]!;
            const isSelected = selected.has(run.run_id);
            const pinBg = isSelected ? "bg-teal-50" : "bg-white group-hover:bg-stone-50";
            return (
              <tr key={run.run_id} data-index={item.index} data-depth={depth} aria-rowindex={item.index + 2} style={{ height: ROW_HEIGHT }} className={`group ${isSelected ? "bg-teal-50" : "hover:bg-stone-50"}`}>
                <td className={`${PIN_CHECK} z-[5] px-3 ${pinBg}`}><input type="checkbox" aria-label={`Select ${run.run_name}`} checked={isSelected} onChange={() => onToggle(run.run_id)} /></td>
                <td className={`${PIN_NAME} z-[5] max-w-[18rem] truncate px-3 whitespace-nowrap ${pinBg}`} style={depth > 0 ? { paddingLeft: `${0.75 + depth * 1.25}rem` } : undefined}>
                  {childCount > 0 && (
                    <button
                      type="button"
                      aria-expanded={open}
                      aria-label={`Child runs of ${run.run_name} (${childCount})`}
                      onClick={() => toggleExpanded(run.run_id)}
                      className="mr-1.5 inline-flex min-w-9 items-center gap-0.5 rounded border border-stone-200 px-1 text-xs text-stone-600 tabular-nums hover:bg-stone-100 focus-visible:outline-2 focus-visible:outline-teal-700"
                    >
                      <span aria-hidden>{open ? "▾" : "▸"}</span>{childCount}
                    </button>
                  )}
                  {run.parent_run_id && <span aria-label="child run" className="mr-1 text-stone-400">↳</span>}
                  <Link href={`/runs/${run.run_id}`} prefetch={false} className="font-medium text-teal-800 hover:underline">{run.run_name}</Link>
                </td>
                <td className="px-3"><Badge tone={STATUS_TONE[run.status] ?? "neutral"}>{run.status.toLowerCase()}</Badge></td>
                <td className="px-3 whitespace-nowrap text-stone-600" title={new Date(run.start_time).toISOString()} suppressHydrationWarning>{formatRelative(new Date(run.start_time).toISOString())}</td>
                <td className="px-3 whitespace-nowrap text-stone-600 tabular-nums" suppressHydrationWarning>{formatDuration(run.end_time === null ? (run.status === "RUNNING" ? Date.now() - run.start_time : null) : run.end_time - run.start_time)}</td>
                <td className="max-w-[12rem] truncate px-3 text-xs text-stone-600">{run.user_id}</td>
                {cols.map((c) => {
                  const { text, title } = cell(run, c, formats.get(c));
                  return <td key={c} title={title} className={`max-w-[12rem] truncate px-3 whitespace-nowrap ${c.startsWith("metrics.") ? "text-right font-mono text-xs tabular-nums" : "font-mono text-xs"}`}>{text}</td>;
                })}
              </tr>
            );
          })}
          {bottom > 0 && <tr aria-hidden style={{ height: bottom }}><td colSpan={width} /></tr>}
        </tbody>
      </table>
    </div>
  );
}
