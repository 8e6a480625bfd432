"use client";

// Every run's curve of one metric on a canvas (thousands of lines stay cheap); the table's selected runs and the
// hovered run are drawn on a second canvas above, so hovering never redraws the rest.
import { useMemo, useRef } from "react";
import { formatTick, scaleFor } from "@/lib/chart-scales";
import type { ChartHistoriesDto } from "@/lib/schemas/charts";
import { Axes } from "./axes";
import { HOVERED, lineAlpha, SELECTED, useCanvas } from "./canvas";

const MARGIN = { top: 16, right: 12, bottom: 30, left: 52 };

type Props = {
  data: ChartHistoriesDto;
  names: Map<string, string>;
  selected: Set<string>;
  hovered: string | null;
  onHover: (runId: string | null) => void;
  /** The runs inside the chart brushes (the rest drawn grey); null without brushes. */
  brushed: Set<string> | null;
  height?: number;
};

/** Round ticks over [lo, hi], at unit positions (0 = lo). */
function ticks(lo: number, hi: number): { at: number; label: string }[] {
  return scaleFor([lo, hi], 5).ticks;
}

export function LinesChart({ data, names, selected, hovered, onHover, brushed, height = 300 }: Props) {
  const extent = useMemo(() => {
    let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
    for (const r of data.runs) {
      if (r.steps.length === 0) continue;
      x0 = Math.min(x0, r.steps[0]!);
      x1 = Math.max(x1, r.steps[r.steps.length - 1]!);
      for (const v of r.values) { if (v < y0) y0 = v; if (v > y1) y1 = v; }
    }
    if (!Number.isFinite(x0)) return { x0: 0, x1: 1, y0: 0, y1: 1 };
    return { x0, x1: x1 === x0 ? x0 + 1 : x1, y0, y1: y1 === y0 ? y0 + 1 : y1 };
  }, [data]);
  const frame = (w: number, h: number) => ({
    px: (s: number) => MARGIN.left + ((s - extent.x0) / (extent.x1 - extent.x0)) * (w - MARGIN.left - MARGIN.right),
    py: (v: number) => MARGIN.top + (1 - (v - extent.y0) / (extent.y1 - extent.y0)) * (h - MARGIN.top - MARGIN.bottom),
  });
  const trace = (ctx: CanvasRenderingContext2D, r: ChartHistoriesDto["runs"][number], f: ReturnType<typeof frame>) => {
    for (let i = 0; i < r.steps.length; i++) {
      const [x, y] = [f.px(r.steps[i]!), f.py(r.values[i]!)];
      if (i === 0) ctx.moveTo(x, y); else ctx.lineTo(x, y);
    }
    if (r.steps.length === 1) ctx.arc(f.px(r.steps[0]!), f.py(r.values[0]!), 1.5, 0, 2 * Math.PI);
  };
  const [baseRef, width] = useCanvas(height, (ctx, w, h) => {
    const f = frame(w, h);
    ctx.lineWidth = 1;
    const alpha = lineAlpha(data.runs.length);
    // Runs outside the chart brushes first, in grey; then the runs inside (all runs without brushes) in teal.
    const layers = brushed
      ? [{ runs: data.runs.filter((r) => !brushed.has(r.run_id)), colour: `rgba(168,162,158,${alpha * 0.5})` }, { runs: data.runs.filter((r) => brushed.has(r.run_id)), colour: `rgba(15,118,110,${alpha})` }]
      : [{ runs: data.runs, colour: `rgba(15,118,110,${alpha})` }];
    for (const layer of layers) {
      ctx.strokeStyle = layer.colour;
      // One stroke per run lets overlaps darken (density shows); past 2,000 runs, runs share strokes in small groups.
      const group = Math.max(1, Math.ceil(layer.runs.length / 2000));
      for (let i = 0; i < layer.runs.length; i += group) {
        ctx.beginPath();
        for (let j = i; j < Math.min(layer.runs.length, i + group); j++) trace(ctx, layer.runs[j]!, f);
        ctx.stroke();
      }
    }
  }, [data, extent, brushed]);
  const [overlayRef] = useCanvas(height, (ctx, w, h) => {
    const f = frame(w, h);
    for (const r of data.runs) {
      const isHovered = r.run_id === hovered;
      if (!isHovered && !selected.has(r.run_id)) continue;
      ctx.beginPath();
      ctx.lineWidth = isHovered ? 2.5 : 1.8;
      ctx.strokeStyle = isHovered ? HOVERED : SELECTED;
      trace(ctx, r, f);
      ctx.stroke();
    }
  }, [data, extent, selected, hovered]);

  const frameRef = useRef(0);
  function move(e: React.MouseEvent<HTMLCanvasElement>) {
    const rect = e.currentTarget.getBoundingClientRect();
    const [mx, my] = [e.clientX - rect.left, e.clientY - rect.top];
    cancelAnimationFrame(frameRef.current);
    frameRef.current = requestAnimationFrame(() => {
      const f = frame(rect.width, rect.height);
      const step = extent.x0 + ((mx - MARGIN.left) / (rect.width - MARGIN.left - MARGIN.right)) * (extent.x1 - extent.x0);
      let best: string | null = null;
      let bestD = 10;
      for (const r of data.runs) {
        const s = r.steps;
        if (s.length === 0 || step < s[0]! - (extent.x1 - extent.x0) * 0.01 || step > s[s.length - 1]! + (extent.x1 - extent.x0) * 0.01) continue;
        let lo = 0;
        let hi = s.length - 1;
        while (lo < hi) { const mid = (lo + hi) >> 1; if (s[mid]! < step) lo = mid + 1; else hi = mid; }
        for (const i of [lo - 1, lo]) {
          if (i < 0 || i >= s.length) continue;
          const d = Math.hypot(f.px(s[i]!) - mx, f.py(r.values[i]!) - my);
          if (d < bestD) { bestD = d; best = r.run_id; }
        }
      }
      if (best !== hovered) onHover(best);
    });
  }

  const hoveredRun = hovered ? data.runs.find((r) => r.run_id === hovered) : undefined;
  return (
    <div>
      <div className="relative" style={{ height }}>
        <canvas ref={baseRef} className="absolute inset-0" data-testid="lines-canvas" data-runs={data.runs.length} role="img" aria-label={`${data.metric} over steps for ${data.runs.length} runs`} />
        <Axes width={width} height={height} margin={MARGIN} xTicks={ticks(extent.x0, extent.x1)} yTicks={ticks(extent.y0, extent.y1)} xLabel="step" yLabel={data.metric} />
        <canvas ref={overlayRef} className="absolute inset-0 cursor-crosshair" onMouseMove={move} onMouseLeave={() => onHover(null)} />
      </div>
      <p className="mt-1 h-4 text-xs text-stone-600" aria-live="polite">
        {hoveredRun ? <>{names.get(hoveredRun.run_id) ?? hoveredRun.run_id}: last {data.metric} {formatTick(hoveredRun.values.at(-1) ?? Number.NaN)} at step {hoveredRun.steps.at(-1)}</> : ""}
      </p>
    </div>
  );
}
