"use client";

import { useState } from "react";
import type { ColumnId } from "@/lib/runs-table";
import { insertColumn } from "@/lib/runs-table";
import type { FilterKeys } from "./filter-bar";

export function ColumnChooser({ keys, selected, onChange }: { keys: FilterKeys; selected: ColumnId[]; onChange: (cols: ColumnId[]) => void }) {
  const [q, setQ] = useState("");
  // Optimistic: the checkbox flips at once; the URL (and the table) follow.
  const [cols, setCols] = useState(selected);
  const [synced, setSynced] = useState(selected.join(","));
  if (synced !== selected.join(",")) {
    // A saved view or the back button changed the columns: adopt them.
    setSynced(selected.join(","));
    setCols(selected);
  }
  const change = (next: ColumnId[]) => { setCols(next); onChange(next); };
  const groups: [string, "metrics" | "params" | "tags", string[]][] = [
    ["Metrics", "metrics", keys.metrics],
    ["Params", "params", keys.params],
    ["Tags", "tags", keys.tags.filter((t) => !t.startsWith("mlflow.") || t === "mlflow.source.name")],
  ];
  const toggle = (col: ColumnId) => change(cols.includes(col) ? cols.filter((c) => c !== col) : insertColumn(cols, col));
  return (
    <details className="relative">
      <summary className="inline-flex cursor-pointer list-none items-center rounded-md border border-stone-300 bg-white px-3.5 py-2 text-sm font-medium text-stone-800 hover:bg-stone-50">
        Columns ({cols.length})
      </summary>
      <div className="absolute right-0 z-30 mt-1 w-80 rounded-lg border border-stone-200 bg-white p-3 shadow-lg" role="group" aria-label="Choose columns">
        <input aria-label="Find a column" value={q} onChange={(e) => setQ(e.target.value)} placeholder="Find a key…" className="mb-2 w-full rounded-md border border-stone-300 px-2 py-1 text-sm" />
        <div className="max-h-80 space-y-3 overflow-auto">
          {groups.map(([label, prefix, list]) => {
            const shown = list.filter((k) => k.toLowerCase().includes(q.toLowerCase()));
            if (shown.length === 0) return null;
            return (
              <fieldset key={prefix}>
                <legend className="text-xs font-semibold tracking-wide text-stone-500 uppercase">{label}</legend>
                {shown.map((k) => {
                  const col = `${prefix}.${k}` as ColumnId;
                  return (
                    <label key={col} className="flex items-center gap-2 py-0.5 text-sm text-stone-800">
                      <input type="checkbox" checked={cols.includes(col)} onChange={() => toggle(col)} />
                      <span className="truncate font-mono text-xs">{k}</span>
                    </label>
                  );
                })}
              </fieldset>
            );
          })}
        </div>
        <div className="mt-2 flex justify-between border-t border-stone-100 pt-2 text-xs">
          <button type="button" className="text-teal-800 hover:underline" onClick={() => change([])}>None</button>
          <button type="button" className="text-teal-800 hover:underline" onClick={() => change([...keys.metrics.map((k) => `metrics.${k}` as ColumnId), ...keys.params.map((k) => `params.${k}` as ColumnId)])}>All metrics and params</button>
        </div>
      </div>
    </details>
  );
}
