"use client";

// A scatter of any two keys (params, metrics, attributes) over every run: points on a canvas, the table's selected
// runs and the hovered run drawn above them. Drag a rectangle to brush both keys' ranges (the runs table keeps the
// runs inside every brush); a click clears the brushes on the two keys.
import { useMemo, useRef, useState } from "react";
import type { ChartBrush } from "@/lib/chart-brush";
import { brushFromUnits, brushUnits, unfilterableReason } from "@/lib/chart-brush";
import type { Value } from "@/lib/chart-scales";
import { scaleFor } from "@/lib/chart-scales";
import type { ChartKey } from "@/lib/schemas/charts";
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
  brushes: ChartBrush[];
  /** Per run (aligned with runIds), whether it lies inside every brush; null without brushes. */
  inBrushes: boolean[] | null;
  /** Sets the brushes of a rectangle (one per key; null clears the key's brush). */
  onBrush: (changes: { key: ChartKey; brush: ChartBrush | null }[]) => void;
  height?: number;
};

type Drag = { x0: number; y0: number; x1: number; y1: number };

export function ScatterPlot({ runIds, names, x, y, selected, hovered, onHover, brushes, inBrushes, onBrush, height = 300 }: Props) {
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
    ux: (px: number) => (px - MARGIN.left - 6) / (w - MARGIN.left - MARGIN.right - 12),
    uy: (py: number) => 1 - (py - MARGIN.top - 6) / (h - MARGIN.top - MARGIN.bottom - 12),
  });
  const [drag, setDrag] = useState<Drag | null>(null);
  // The brushed rectangle in units: a key without a brush spans its whole axis.
  const rect = useMemo(() => {
    const bx = brushes.find((b) => b.key === x.key);
    const by = brushes.find((b) => b.key === y.key);
    if (!bx && !by) return null;
    return { x: (bx && brushUnits(sx, bx)) ?? [0, 1], y: (by && brushUnits(sy, by)) ?? [0, 1] };
  }, [brushes, x.key, y.key, sx, sy]);
  const [baseRef, width] = useCanvas(height, (ctx, w, h) => {
    const f = frame(w, h);
    const alpha = Math.max(0.15, lineAlpha(plotted) * 1.5);
    // Outside the brushes grey, inside teal (every point teal without brushes).
    for (const inside of inBrushes ? [false, true] : [true]) {
      ctx.fillStyle = inside ? `rgba(15,118,110,${alpha})` : `rgba(168,162,158,${alpha * 0.6})`;
      ctx.beginPath();
      points.forEach((p, i) => {
        if (!p || (inBrushes && inBrushes[i] !== inside)) return;
        ctx.moveTo(f.px(p.ux) + 2.5, f.py(p.uy));
        ctx.arc(f.px(p.ux), f.py(p.uy), 2.5, 0, 2 * Math.PI);
      });
      ctx.fill();
    }
  }, [points, inBrushes]);
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
    const box = drag ? { x: [f.ux(drag.x0), f.ux(drag.x1)], y: [f.uy(drag.y0), f.uy(drag.y1)] } : rect;
    if (box) {
      const [xa, xb] = [f.px(Math.min(box.x[0]!, box.x[1]!)), f.px(Math.max(box.x[0]!, box.x[1]!))];
      const [ya, yb] = [f.py(Math.max(box.y[0]!, box.y[1]!)), f.py(Math.min(box.y[0]!, box.y[1]!))];
      ctx.fillStyle = "rgba(15,118,110,0.12)";
      ctx.strokeStyle = "rgba(15,118,110,0.8)";
      ctx.lineWidth = 1;
      ctx.fillRect(xa, ya, xb - xa, yb - ya);
      ctx.strokeRect(xa, ya, xb - xa, yb - ya);
    }
  }, [points, selected, hovered, rect, drag]);

  const raf = useRef(0);
  const at = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const box = e.currentTarget.getBoundingClientRect();
    return { mx: e.clientX - box.left, my: e.clientY - box.top, f: frame(box.width, box.height) };
  };
  function down(e: React.MouseEvent<HTMLCanvasElement>) {
    const { mx, my } = at(e);
    setDrag({ x0: mx, y0: my, x1: mx, y1: my });
  }
  function up(e: React.MouseEvent<HTMLCanvasElement>) {
    if (!drag) return;
    const { mx, my, f } = at(e);
    setDrag(null);
    const keys = [x.key, y.key] as ChartKey[];
    if (Math.hypot(mx - drag.x0, my - drag.y0) < 4) {
      onBrush(keys.map((key) => ({ key, brush: null })));
      return;
    }
    const changes = [
      { key: keys[0]!, brush: brushFromUnits(keys[0]!, sx, f.ux(drag.x0), f.ux(mx)) },
      { key: keys[1]!, brush: brushFromUnits(keys[1]!, sy, f.uy(drag.y0), f.uy(my)) },
    ];
    onBrush(x.key === y.key ? changes.slice(0, 1) : changes);
  }
  function move(e: React.MouseEvent<HTMLCanvasElement>) {
    const rect = e.currentTarget.getBoundingClientRect();
    const [mx, my] = [e.clientX - rect.left, e.clientY - rect.top];
    if (drag) {
      setDrag({ ...drag, x1: mx, y1: my });
      return;
    }
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
  const why = (key: string, s: typeof sx) => unfilterableReason(key as ChartKey, s.kind === "numeric" ? "range" : "in");
  const unbrushable = why(x.key, sx) ? { other: y.key, why: why(x.key, sx)! } : why(y.key, sy) ? { other: x.key, why: why(y.key, sy)! } : null;
  return (
    <div>
      <div className="relative" style={{ height }}>
        <canvas ref={baseRef} className="absolute inset-0" data-testid="scatter-canvas" data-points={plotted} data-brushed={inBrushes ? inBrushes.filter((v, i) => v && points[i]).length : undefined} role="img" aria-label={`Scatter of ${y.key} against ${x.key} for ${plotted} runs`} />
        <Axes width={w} height={height} margin={MARGIN} xTicks={sx.ticks.map(inner)} yTicks={sy.ticks.map(innerY)} xLabel={x.key} yLabel={y.key} />
        <canvas ref={overlayRef} className="absolute inset-0 cursor-crosshair" onMouseDown={down} onMouseUp={up} onMouseMove={move} onMouseLeave={() => { setDrag(null); onHover(null); }} />
      </div>
      <p className="mt-1 h-4 text-xs text-stone-600" aria-live="polite">
        {i >= 0 ? `${names.get(hovered!) ?? hovered}: ${x.key} ${x.values[i] ?? "—"}, ${y.key} ${y.values[i] ?? "—"}` : `${plotted.toLocaleString()} of ${runIds.length.toLocaleString()} runs have both keys.${unbrushable ? ` A rectangle brushes only ${unbrushable.other}: ${unbrushable.why}.` : " Drag a rectangle to brush."}`}
      </p>
    </div>
  );
}
