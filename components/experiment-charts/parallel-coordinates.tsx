"use client";

// Parallel coordinates of params → objective: one polyline per run (canvas), numeric and categorical axes, coloured
// by the objective; drag along an axis to brush a range (runs outside every brush turn grey, and the runs table
// keeps only the runs inside), click it to clear. The brushes belong to the panel's URL state (lib/chart-brush.ts).
import { useMemo, useRef, useState } from "react";
import type { ChartBrush } from "@/lib/chart-brush";
import { brushFromUnits, brushUnits } from "@/lib/chart-brush";
import type { Scale, Value } from "@/lib/chart-scales";
import { rampColor, scaleFor } from "@/lib/chart-scales";
import type { ChartKey } from "@/lib/schemas/charts";
import { HOVERED, lineAlpha, SELECTED, useCanvas } from "./canvas";

const M = { top: 34, right: 60, bottom: 16, left: 60 };

type Props = {
  runIds: string[];
  names: Map<string, string>;
  /** Axis keys in order; the last is the objective (colours the lines). */
  axes: { key: string; label: string; values: Value[] }[];
  selected: Set<string>;
  hovered: string | null;
  onHover: (runId: string | null) => void;
  /** Every brush of the panel (also on keys that are not axes here). */
  brushes: ChartBrush[];
  /** Per run (aligned with runIds), whether it lies inside every brush; null without brushes. */
  inBrushes: boolean[] | null;
  /** Sets (or, with null, clears) the brush on one key. */
  onBrush: (key: ChartKey, brush: ChartBrush | null) => void;
  height?: number;
};

export function ParallelCoordinates({ runIds, names, axes, selected, hovered, onHover, brushes, inBrushes, onBrush, height = 320 }: Props) {
  const scales = useMemo<Scale[]>(() => axes.map((a) => scaleFor(a.values)), [axes]);
  // A brush being dragged is drawn on the overlay only; the lines are re-coloured once it is let go.
  const [dragging, setDragging] = useState<{ axis: number; from: number; to: number } | null>(null);
  const units = useMemo(() => axes.map((a, i) => a.values.map((v) => scales[i]!.toUnit(v))), [axes, scales]);
  // Each axis's brush in units, for drawing.
  const axisBrushes = useMemo(() => axes.map((a, i) => {
    const b = brushes.find((x) => x.key === a.key);
    return b ? brushUnits(scales[i]!, b) : null;
  }), [axes, scales, brushes]);
  const last = axes.length - 1;
  const layout = (w: number, h: number) => ({
    x: (i: number) => M.left + (axes.length === 1 ? 0 : (i * (w - M.left - M.right)) / (axes.length - 1)),
    y: (u: number) => M.top + (1 - u) * (h - M.top - M.bottom),
    unitAt: (py: number) => 1 - (py - M.top) / (h - M.top - M.bottom),
  });
  const trace = (ctx: CanvasRenderingContext2D, r: number, l: ReturnType<typeof layout>) => {
    let open = false;
    for (let i = 0; i < axes.length; i++) {
      const u = units[i]![r];
      if (u === null || u === undefined) { open = false; continue; }
      if (open) ctx.lineTo(l.x(i), l.y(u)); else ctx.moveTo(l.x(i), l.y(u));
      open = true;
    }
  };
  const [baseRef, width] = useCanvas(height, (ctx, w, h) => {
    const l = layout(w, h);
    const alpha = lineAlpha(runIds.length);
    ctx.lineWidth = 1;
    // Runs outside the brushes first (grey), then the rest coloured by the objective.
    if (inBrushes) {
      ctx.strokeStyle = `rgba(168,162,158,${alpha * 0.5})`;
      ctx.beginPath();
      for (let r = 0; r < runIds.length; r++) if (!inBrushes[r]) trace(ctx, r, l);
      ctx.stroke();
    }
    for (let r = 0; r < runIds.length; r++) {
      if (inBrushes && !inBrushes[r]) continue;
      const u = units[last]?.[r];
      ctx.strokeStyle = u === null || u === undefined ? `rgba(120,113,108,${alpha})` : rampColor(u, alpha);
      ctx.beginPath();
      trace(ctx, r, l);
      ctx.stroke();
    }
  }, [runIds, units, inBrushes]);
  const [overlayRef] = useCanvas(height, (ctx, w, h) => {
    const l = layout(w, h);
    for (let r = 0; r < runIds.length; r++) {
      const isHovered = runIds[r] === hovered;
      if (!isHovered && !selected.has(runIds[r]!)) continue;
      ctx.lineWidth = isHovered ? 2.5 : 1.8;
      ctx.strokeStyle = isHovered ? HOVERED : SELECTED;
      ctx.beginPath();
      trace(ctx, r, l);
      ctx.stroke();
    }
    axisBrushes.forEach((b, i) => {
      const span: [number, number] | null = dragging?.axis === i ? [dragging.from, dragging.to] : b;
      if (!span) return;
      const x = l.x(i);
      ctx.fillStyle = "rgba(15,118,110,0.15)";
      ctx.strokeStyle = "rgba(15,118,110,0.8)";
      ctx.lineWidth = 1;
      const [y0, y1] = [l.y(Math.max(span[0], span[1])), l.y(Math.min(span[0], span[1]))];
      ctx.fillRect(x - 7, y0, 14, y1 - y0);
      ctx.strokeRect(x - 7, y0, 14, y1 - y0);
    });
  }, [runIds, units, selected, hovered, axisBrushes, dragging]);

  const raf = useRef(0);
  const point = (e: React.MouseEvent<HTMLCanvasElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    return { mx: e.clientX - rect.left, my: e.clientY - rect.top, l: layout(rect.width, rect.height) };
  };
  const axisNear = (mx: number, l: ReturnType<typeof layout>) => axes.findIndex((_, i) => Math.abs(l.x(i) - mx) <= 10);
  function down(e: React.MouseEvent<HTMLCanvasElement>) {
    const { mx, my, l } = point(e);
    const axis = axisNear(mx, l);
    const from = Math.min(1, Math.max(0, l.unitAt(my)));
    if (axis >= 0) setDragging({ axis, from, to: from });
  }
  function up(e: React.MouseEvent<HTMLCanvasElement>) {
    if (!dragging) return;
    const { my, l } = point(e);
    const to = Math.min(1, Math.max(0, l.unitAt(my)));
    const key = axes[dragging.axis]!.key as ChartKey;
    // A click (no drag) clears the axis's brush.
    onBrush(key, Math.abs(to - dragging.from) < 0.01 ? null : brushFromUnits(key, scales[dragging.axis]!, dragging.from, to));
    setDragging(null);
  }
  function move(e: React.MouseEvent<HTMLCanvasElement>) {
    const { mx, my, l } = point(e);
    if (dragging) {
      setDragging({ ...dragging, to: Math.min(1, Math.max(0, l.unitAt(my))) });
      return;
    }
    cancelAnimationFrame(raf.current);
    raf.current = requestAnimationFrame(() => {
      let i = 0;
      while (i < axes.length - 2 && mx > l.x(i + 1)) i++;
      const [xa, xb] = [l.x(i), l.x(Math.min(i + 1, last))];
      const t = xb === xa ? 0 : Math.min(1, Math.max(0, (mx - xa) / (xb - xa)));
      let best: string | null = null;
      let bestD = 6;
      for (let r = 0; r < runIds.length; r++) {
        const [ua, ub] = [units[i]?.[r], units[Math.min(i + 1, last)]?.[r]];
        if (ua === null || ua === undefined || ub === null || ub === undefined) continue;
        const d = Math.abs(l.y(ua + (ub - ua) * t) - my);
        if (d < bestD) { bestD = d; best = runIds[r]!; }
      }
      if (best !== hovered) onHover(best);
    });
  }

  const brushedCount = inBrushes ? inBrushes.filter(Boolean).length : null;
  const hoveredIndex = hovered ? runIds.indexOf(hovered) : -1;
  return (
    <div>
      <div className="relative" style={{ height }}>
        <canvas ref={baseRef} className="absolute inset-0" data-testid="parallel-canvas" data-runs={runIds.length} data-brushed={brushedCount ?? undefined} role="img" aria-label={`Parallel coordinates of ${axes.map((a) => a.label).join(", ")} for ${runIds.length} runs`} />
        {width > 0 && (
          <svg width={width} height={height} className="pointer-events-none absolute inset-0 text-stone-600" aria-hidden>
            {axes.map((a, i) => {
              const l = layout(width, height);
              const x = l.x(i);
              return (
                <g key={a.key} fontSize={10} fill="currentColor">
                  <line x1={x} x2={x} y1={M.top} y2={height - M.bottom} stroke="#78716c" />
                  <text x={x} y={12} textAnchor="middle" className="font-mono" fontWeight={i === last ? 700 : 500}>{a.label}</text>
                  <text x={x} y={24} textAnchor="middle" fill="#a8a29e">{scales[i]!.kind === "categorical" ? "categorical" : ""}</text>
                  {scales[i]!.ticks.map((t) => (
                    <text key={t.label + t.at} x={x - 4} y={l.y(t.at)} dy="0.32em" textAnchor="end" stroke="white" strokeWidth={3} paintOrder="stroke">{t.label}</text>
                  ))}
                </g>
              );
            })}
          </svg>
        )}
        <canvas ref={overlayRef} className="absolute inset-0 cursor-crosshair" onMouseDown={down} onMouseUp={up} onMouseMove={move} onMouseLeave={() => { setDragging(null); onHover(null); }} />
      </div>
      <p className="mt-1 h-4 text-xs text-stone-600" aria-live="polite">
        {hoveredIndex >= 0
          ? `${names.get(hovered!) ?? hovered}: ${axes.map((a) => `${a.label} ${a.values[hoveredIndex] ?? "—"}`).join(", ")}`
          : brushedCount !== null ? `${brushedCount.toLocaleString()} of ${runIds.length.toLocaleString()} runs inside the brushes (click an axis to clear its brush)` : "Drag along an axis to brush a range."}
      </p>
    </div>
  );
}
