"use client";

import { useEffect, useRef, useState } from "react";

/** A canvas sized to its box at the device's pixel ratio; `draw` gets a context in CSS pixels. */
export function useCanvas(height: number, draw: (ctx: CanvasRenderingContext2D, width: number, height: number) => void, deps: unknown[]) {
  const ref = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(0);
  useEffect(() => {
    const el = ref.current?.parentElement;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry!.contentRect.width)));
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  useEffect(() => {
    const canvas = ref.current;
    if (!canvas || width === 0) return;
    const ratio = window.devicePixelRatio || 1;
    // Resizing reallocates the canvas: only when the box changed (a hover redraws the overlay many times a second).
    if (canvas.width !== width * ratio || canvas.height !== height * ratio) {
      canvas.width = width * ratio;
      canvas.height = height * ratio;
      canvas.style.width = `${width}px`;
      canvas.style.height = `${height}px`;
    }
    const ctx = canvas.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    draw(ctx, width, height);
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the caller lists what the drawing depends on
  }, [width, height, ...deps]);
  return [ref, width] as const;
}

/** Line alpha for `n` overlaid lines: opaque for a few, faint for thousands, so density shows. */
export function lineAlpha(n: number): number {
  return Math.max(0.04, Math.min(0.8, 6 / Math.sqrt(Math.max(1, n))));
}

export const SELECTED = "#b45309";
export const HOVERED = "#1c1917";

