// Axis scales for the hand-drawn experiment charts: numeric (linear, padded, "nice" ticks) or categorical.
export type Value = number | string | null;

export type Scale =
  | { kind: "numeric"; min: number; max: number; toUnit: (v: Value) => number | null; ticks: { at: number; label: string }[] }
  | { kind: "categorical"; categories: string[]; toUnit: (v: Value) => number | null; ticks: { at: number; label: string }[] };

/** A value as a number when it is one (params arrive as text: "0.01" is numeric). */
export function asNumber(v: Value): number | null {
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

export function formatTick(v: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

function niceTicks(min: number, max: number, count: number): number[] {
  if (min === max) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

/**
 * A scale over `values` mapping each to [0, 1] (0 = low end). Numeric when every present value is a number;
 * otherwise categorical with categories sorted (numbers by value) and spread evenly.
 */
export function scaleFor(values: Value[], tickCount = 5): Scale {
  const present = values.filter((v): v is number | string => v !== null);
  const nums = present.map(asNumber);
  if (present.length > 0 && nums.every((n) => n !== null)) {
    let min = Infinity;
    let max = -Infinity;
    for (const n of nums as number[]) { if (n < min) min = n; if (n > max) max = n; }
    const span = max - min || Math.abs(max) || 1;
    const lo = min === max ? min - span / 2 : min;
    const hi = min === max ? max + span / 2 : max;
    const toUnit = (v: Value) => { const n = asNumber(v); return n === null ? null : (n - lo) / (hi - lo); };
    return { kind: "numeric", min: lo, max: hi, toUnit, ticks: niceTicks(lo, hi, tickCount).map((t) => ({ at: (t - lo) / (hi - lo), label: formatTick(t) })) };
  }
  const categories = [...new Set(present.map(String))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const index = new Map(categories.map((c, i) => [c, i]));
  const at = (i: number) => (categories.length === 1 ? 0.5 : i / (categories.length - 1));
  const shown = categories.length > 12 ? categories.filter((_, i) => i % Math.ceil(categories.length / 12) === 0) : categories;
  return {
    kind: "categorical",
    categories,
    toUnit: (v) => { if (v === null) return null; const i = index.get(String(v)); return i === undefined ? null : at(i); },
    ticks: shown.map((c) => ({ at: at(index.get(c)!), label: c.length > 14 ? `${c.slice(0, 13)}…` : c })),
  };
}

/** Objective colour: a low-to-high ramp (dark blue → teal → amber), by unit position. */
export function rampColor(u: number, alpha = 1): string {
  const stops = [[30, 58, 138], [15, 118, 110], [217, 119, 6]] as const;
  const t = Math.min(1, Math.max(0, u)) * 2;
  const i = Math.min(1, Math.floor(t));
  const f = t - i;
  const [a, b] = [stops[i]!, stops[i + 1]!];
  const c = a.map((x, k) => Math.round(x + (b[k]! - x) * f));
  return `rgba(${c[0]},${c[1]},${c[2]},${alpha})`;
}

/** The best-so-far curve of a sweep: after each trial, the best objective among finished trials up to it. */
export function bestSoFar<T extends { number: number; objective: number | null }>(trials: T[], direction: "minimize" | "maximize"): (T & { best: number | null })[] {
  let best: number | null = null;
  return [...trials].sort((a, b) => a.number - b.number).map((t) => {
    if (t.objective !== null && Number.isFinite(t.objective) && (best === null || (direction === "minimize" ? t.objective < best : t.objective > best))) best = t.objective;
    return { ...t, best };
  });
}
