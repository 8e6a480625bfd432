// Parameter importance for the objective, as the server computed it (or what the server needs to compute it).
import type { ImportanceDto } from "@/lib/schemas/charts";

export function ImportanceBars({ data }: { data: ImportanceDto }) {
  if (!data.available) {
    return <p role="note" className="rounded-md border border-amber-200 bg-amber-50 p-3 text-sm text-amber-900" data-testid="importance-unavailable">{data.message}</p>;
  }
  if (data.importances.length === 0) return <p className="text-sm text-stone-600" data-testid="importance-empty">{data.message}</p>;
  const top = data.importances[0]!.importance || 1;
  return (
    <div className="space-y-2">
      <ol className="space-y-1.5" aria-label={`Importance of each param for ${data.objective}`}>
        {data.importances.map((p) => (
          <li key={p.param} className="grid grid-cols-[minmax(6rem,10rem)_1fr_3.5rem] items-center gap-2 text-xs">
            <span className="truncate font-mono text-stone-800" title={p.param}>{p.param}{p.kind === "categorical" && <span className="text-stone-400"> (cat.)</span>}</span>
            <span className="h-3 rounded-sm bg-stone-100"><span className="block h-3 rounded-sm bg-teal-700" style={{ width: `${(p.importance / top) * 100}%` }} /></span>
            <span className="text-right tabular-nums text-stone-700">{(p.importance * 100).toFixed(1)}%</span>
          </li>
        ))}
      </ol>
      <p className="text-xs text-stone-500">{data.message} {data.method}.</p>
    </div>
  );
}
