"use client";

// A scatter of any two keys (params, metrics, attributes) over every run: points on a canvas, the table's selected
// runs and the hovered run drawn above them.
import { useMemo, useRef } from "react";
import type { Value } from "@/lib/chart-scales";
import { scaleFor } from "@/lib/chart-scales";
import { Axes } from "./axes";
import { HOVERED, lineAlpha, SELECTED, useCanvas } from "./canvas";

const MARGIN = { top: 16, right: 12, bottom: 30, left: 56 };

type Props = {
  runIds: string[];
  names: Map<string, string>;
  x: { key: string; values: Value[] };
  y: { key: string; values: Value[] };
  selected: Set<string>;
  hovered: string | null;
  onHover: (runId: string | null) => void;
  height?: number;
};

export function ScatterPlot({ runIds, names, x, y, selected, hovered, onHover, height = 300 }: Props) {
  const sx = useMemo(() => scaleFor(x.values, 5), [x.values]);
  const sy = useMemo(() => scaleFor(y.values, 5), [y.values]);
  // Unit positions (null where a run lacks either key); categories get a small fixed jitter so piles show.
  const points = useMemo(() => runIds.map((_, i) => {
    const [ux, uy] = [sx.toUnit(x.values[i] ?? null), sy.toUnit(y.values[i] ?? null)];
    if (ux === null || uy === null) return null;
    const jitter = (k: number) => ((((i * 2654435761) >>> 0) % 1000) / 1000 - 0.5) * k;
    return { ux: sx.kind === "categorical" ? ux + jitter(0.03) : ux, uy: sy.kind === "categorical" ? uy + jitter(0.03) : uy };
  }), [runIds, x.values, y.values, sx, sy]);
  const plotted = points.filter(Boolean).length;
  const frame = (w: number, h: number) => ({
    px: (u: number) => MARGIN.left + 6 + u * (w - MARGIN.left - MARGIN.right - 12),
    py: (u: number) => MARGIN.top + 6 + (1 - u) * (h - MARGIN.top - MARGIN.bottom - 12),
  });
  const [baseRef, width] = useCanvas(height, (ctx, w, h) => {
    const f = frame(w, h);
    ctx.fillStyle = `rgba(15,118,110,${Math.max(0.15, lineAlpha(plotted) * 1.5)})`;
    ctx.beginPath();
    for (const p of points) {
      if (!p) continue;
      ctx.moveTo(f.px(p.ux) + 2.5, f.py(p.uy));
      ctx.arc(f.px(p.ux), f.py(p.uy), 2.5, 0, 2 * Math.PI);
    }
    ctx.fill();
  }, [points]);
  const [overlayRef] = useCanvas(height, (ctx, w, h) => {
    const f = frame(w, h);
    points.forEach((p, i) => {
      const id = runIds[i]!;
      if (!p || (id !== hovered && !selected.has(id))) return;
      ctx.beginPath();
      ctx.arc(f.px(p.ux), f.py(p.uy), id === hovered ? 5 : 4, 0, 2 * Math.PI);
      ctx.fillStyle = id === hovered ? HOVERED : SELECTED;
      ctx.fill();
    });
  }, [points, selected, hovered]);

  const raf = useRef(0);
  function move(e: React.MouseEvent<HTMLCanvasElement>) {
    const rect = e.currentTarget.getBoundingClientRect();
    const [mx, my] = [e.clientX - rect.left, e.clientY - rect.top];
    cancelAnimationFrame(raf.current);
    raf.current = requestAnimationFrame(() => {
      const f = frame(rect.width, rect.height);
      let best: string | null = null;
      let bestD = 8;
      points.forEach((p, i) => {
        if (!p) return;
        const d = Math.hypot(f.px(p.ux) - mx, f.py(p.uy) - my);
        if (d < bestD) { bestD = d; best = runIds[i]!; }
      });
      if (best !== hovered) onHover(best);
    });
  }
  const w = width;
  const inner = (t: { at: number; label: string }) => ({ ...t, at: (6 + t.at * (w - MARGIN.left - MARGIN.right - 12)) / Math.max(1, w - MARGIN.left - MARGIN.right) });
  const innerY = (t: { at: number; label: string }) => ({ ...t, at: (6 + t.at * (height - MARGIN.top - MARGIN.bottom - 12)) / (height - MARGIN.top - MARGIN.bottom) });
  const i = hovered ? runIds.indexOf(hovered) : -1;
  return (
    <div>
      <div className="relative" style={{ height }}>
        <canvas ref={baseRef} className="absolute inset-0" data-testid="scatter-canvas" data-points={plotted} role="img" aria-label={`Scatter of ${y.key} against ${x.key} for ${plotted} runs`} />
        <Axes width={w} height={height} margin={MARGIN} xTicks={sx.ticks.map(inner)} yTicks={sy.ticks.map(innerY)} xLabel={x.key} yLabel={y.key} />
        <canvas ref={overlayRef} className="absolute inset-0 cursor-crosshair" onMouseMove={move} onMouseLeave={() => onHover(null)} />
      </div>
      <p className="mt-1 h-4 text-xs text-stone-600" aria-live="polite">
        {i >= 0 ? `${names.get(hovered!) ?? hovered}: ${x.key} ${x.values[i] ?? "—"}, ${y.key} ${y.values[i] ?? "—"}` : `${plotted.toLocaleString()} of ${runIds.length.toLocaleString()} runs have both keys.`}
      </p>
    </div>
  );
}
