"use client";

import type { XMode } from "./metric-chart";

export function ChartControls({ xMode, onXMode, smoothing, onSmoothing }: { xMode: XMode; onXMode: (m: XMode) => void; smoothing: number; onSmoothing: (v: number) => void }) {
  return (
    <div className="flex flex-wrap items-center gap-4 text-sm">
      <fieldset className="flex items-center gap-2">
        <legend className="sr-only">X axis</legend>
        <span className="text-stone-600">X axis</span>
        {(["step", "wall", "relative"] as const).map((m) => (
          <label key={m} className="flex items-center gap-1">
            <input type="radio" name="x-axis" value={m} checked={xMode === m} onChange={() => onXMode(m)} />
            {m === "step" ? "Step" : m === "wall" ? "Wall time" : "Relative time"}
          </label>
        ))}
      </fieldset>
      <label className="flex items-center gap-2">
        <span className="text-stone-600">Smoothing</span>
        <input type="range" min={0} max={0.99} step={0.01} value={smoothing} onChange={(e) => onSmoothing(Number(e.target.value))} aria-valuetext={smoothing.toFixed(2)} />
        <span className="w-8 font-mono text-xs tabular-nums">{smoothing.toFixed(2)}</span>
      </label>
    </div>
  );
}
