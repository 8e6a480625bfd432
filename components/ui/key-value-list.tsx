import type { ReactNode } from "react";

/** The label/value rows of an overview card; `truncate` keeps each value on one line, otherwise long values wrap. */
export function KeyValueList({ items, truncate = false }: { items: [string, ReactNode][]; truncate?: boolean }) {
  return (
    <dl className="divide-y divide-stone-100 text-sm">
      {items.map(([k, v]) => (
        <div key={k} className="flex justify-between gap-4 py-1.5">
          <dt className="shrink-0 text-stone-600">{k}</dt>
          <dd className={`min-w-0 text-right text-stone-900${truncate ? " truncate" : ""}`}>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
