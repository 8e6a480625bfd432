"use client";

// The keyboard way to brush a chart axis: pick a key, type its range (or tick its values), select. It sets the same
// brush a drag on the parallel coordinates or the scatter draws.
import { useId, useMemo, useState } from "react";
import type { ChartBrush } from "@/lib/chart-brush";
import { unfilterableReason } from "@/lib/chart-brush";
import type { Value } from "@/lib/chart-scales";
import { formatTick, scaleFor } from "@/lib/chart-scales";
import type { ChartKey } from "@/lib/schemas/charts";
import { buttonClass } from "@/components/ui/button";

type Axis = { key: ChartKey; values: Value[] };

const MAX_LISTED = 60;
const INPUT = "w-28 rounded-md border border-stone-300 bg-white px-2 py-1 text-sm tabular-nums";

export function BrushForm({ axes, brushes, onBrush }: { axes: Axis[]; brushes: ChartBrush[]; onBrush: (key: ChartKey, brush: ChartBrush | null) => void }) {
  const id = useId();
  const usable = useMemo(() => axes
    .map((a) => ({ ...a, scale: scaleFor(a.values) }))
    .filter((a) => a.values.some((v) => v !== null) && unfilterableReason(a.key, a.scale.kind === "numeric" ? "range" : "in") === null), [axes]);
  const [chosen, setChosen] = useState<ChartKey | "">("");
  const [error, setError] = useState<string | null>(null);
  const axis = usable.find((a) => a.key === chosen) ?? usable[0];
  if (!axis) return null;
  const current = brushes.find((b) => b.key === axis.key);
  const scale = axis.scale;

  function submit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    if (scale.kind === "numeric") {
      const read = (name: string, fallback: number) => {
        const raw = String(form.get(name) ?? "").trim();
        return raw === "" ? fallback : Number(raw);
      };
      const [min, max] = [read("min", scale.min), read("max", scale.max)];
      if (!Number.isFinite(min) || !Number.isFinite(max)) {
        setError("Type numbers for the range, such as 0.01 and 0.05 (leave one empty for the axis's end).");
        return;
      }
      setError(null);
      onBrush(axis!.key, { key: axis!.key, kind: "range", min, max });
      return;
    }
    const values = form.getAll("value").map(String);
    if (values.length === 0) {
      setError("Tick at least one value, or clear the brush.");
      return;
    }
    setError(null);
    onBrush(axis!.key, { key: axis!.key, kind: "in", values });
  }

  const errorId = `${id}-error`;
  return (
    <form onSubmit={submit} aria-label="Brush by value" className="mt-2 flex flex-wrap items-end gap-3 border-t border-stone-100 pt-2 text-sm" noValidate>
      <label className="flex flex-col gap-1">
        <span className="text-xs text-stone-600">Brush by value</span>
        <select className="rounded-md border border-stone-300 bg-white px-2 py-1 font-mono text-sm" value={axis.key} onChange={(e) => { setChosen(e.target.value as ChartKey); setError(null); }} aria-label="Key to brush">
          {usable.map((a) => <option key={a.key} value={a.key}>{a.key}</option>)}
        </select>
      </label>
      {scale.kind === "numeric" ? (
        // Remounted per key and brush, so the boxes show the brush that applies now.
        <span key={`${axis.key}|${current ? JSON.stringify(current) : ""}`} className="flex items-end gap-2">
          <label className="flex flex-col gap-1"><span className="text-xs text-stone-600">From</span>
            <input name="min" type="number" step="any" className={INPUT} aria-label={`${axis.key} from`} aria-describedby={error ? errorId : undefined}
              defaultValue={current?.kind === "range" ? current.min : ""} placeholder={formatTick(scale.min)} />
          </label>
          <label className="flex flex-col gap-1"><span className="text-xs text-stone-600">To</span>
            <input name="max" type="number" step="any" className={INPUT} aria-label={`${axis.key} to`} aria-describedby={error ? errorId : undefined}
              defaultValue={current?.kind === "range" ? current.max : ""} placeholder={formatTick(scale.max)} />
          </label>
        </span>
      ) : scale.categories.length > MAX_LISTED ? (
        <p className="text-xs text-stone-600">{scale.categories.length} values: too many to list here; drag along the axis instead.</p>
      ) : (
        <fieldset key={`${axis.key}|${current ? JSON.stringify(current) : ""}`} className="flex max-w-xl flex-wrap gap-x-3 gap-y-1" aria-describedby={error ? errorId : undefined}>
          <legend className="sr-only">Values of {axis.key}</legend>
          {scale.categories.map((c) => (
            <label key={c} className="inline-flex items-center gap-1 font-mono text-xs">
              <input type="checkbox" name="value" value={c} defaultChecked={current?.kind === "in" && current.values.includes(c)} />{c}
            </label>
          ))}
        </fieldset>
      )}
      <button type="submit" className={buttonClass("secondary", "sm")} disabled={scale.kind === "categorical" && scale.categories.length > MAX_LISTED}>Brush</button>
      {current && <button type="button" className={buttonClass("secondary", "sm")} onClick={() => { setError(null); onBrush(axis.key, null); }}>Clear this brush</button>}
      {error && <p id={errorId} role="alert" className="w-full text-xs text-red-700">{error}</p>}
    </form>
  );
}
