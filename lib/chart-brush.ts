// Brushes on the experiment charts (a range on a parallel-coordinates axis, a rectangle on the scatter) as search
// filter conditions, so the runs table's server-side search selects the same runs at any experiment size. The
// conditions travel in the URL (`brush=`) as filter text and are read back into brushes when the page loads.
import type { Scale, Value } from "./chart-scales";
import type { ChartKey } from "./schemas/charts";
import type { FilterNode } from "./search/filter";
import { FilterSyntaxError, parseFilter } from "./search/filter";

/** A numeric range (inclusive) or a set of categories on one chart key. */
export type ChartBrush =
  | { key: ChartKey; kind: "range"; min: number; max: number }
  | { key: ChartKey; kind: "in"; values: string[] };

/** Attributes a filter can test: duration is computed for the charts, and has no filter attribute. */
const FILTER_ATTRIBUTES: Record<string, "number" | "string"> = { start_time: "number", end_time: "number", run_name: "string", status: "string", user_id: "string" };
/** Text the server reads as a number in a param range (search-sql.ts NUMERIC_TEXT): no NaN, Infinity or hex. */
const NUMERIC_TEXT = /^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]{1,3})?\s*$/;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_\-/]*(\.[A-Za-z0-9_\-/]+)*$/;

function split(key: ChartKey): { prefix: "params" | "metrics" | "attributes"; name: string } {
  const dot = key.indexOf(".");
  return { prefix: key.slice(0, dot) as "params" | "metrics" | "attributes", name: key.slice(dot + 1) };
}

/** Why a brush on `key` cannot narrow the runs table, or null when it can. */
export function unfilterableReason(key: ChartKey, kind: ChartBrush["kind"]): string | null {
  const { prefix, name } = split(key);
  if (prefix === "params") return null;
  if (prefix === "metrics") return kind === "range" ? null : `metric ${name} is not numeric here`;
  const type = FILTER_ATTRIBUTES[name];
  if (!type) return `the run's ${name} cannot be searched`;
  if ((type === "number") !== (kind === "range")) return `${name} is ${type === "number" ? "a number" : "text"}`;
  return null;
}

/** `params.lr`, or params.`odd key` with backticks and backslashes doubled so the filter reads the key back whole. */
export function filterKey(key: ChartKey): string {
  const { prefix, name } = split(key);
  return PLAIN_KEY.test(name) ? `${prefix}.${name}` : `${prefix}.\`${name.replace(/\\/g, "\\\\").replace(/`/g, "``")}\``;
}

function quote(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`;
}

/** The brush with a low end first; null when it selects nothing a filter can say (no categories, no number). */
export function normalizeBrush(b: ChartBrush): ChartBrush | null {
  if (b.kind === "in") {
    const values = [...new Set(b.values)].sort();
    return values.length === 0 ? null : { ...b, values };
  }
  if (!Number.isFinite(b.min) || !Number.isFinite(b.max)) return null;
  return b.min <= b.max ? b : { ...b, min: b.max, max: b.min };
}

/** The filter conditions of one brush (AND-ed), or null when it has none. */
export function brushConditions(brush: ChartBrush): string | null {
  const b = normalizeBrush(brush);
  if (!b || unfilterableReason(b.key, b.kind)) return null;
  const k = filterKey(b.key);
  if (b.kind === "in") return `${k} IN (${b.values.map(quote).join(", ")})`;
  return `${k} >= ${String(b.min)} AND ${k} <= ${String(b.max)}`;
}

/** Every brush's conditions AND-ed (the text of the URL's `brush=`); "" without brushes. */
export function brushesToFilter(brushes: ChartBrush[]): string {
  return brushes.map(brushConditions).filter((c): c is string => c !== null).join(" AND ");
}

/** The runs table's filter: the user's filter AND the charts' brushes. */
export function combineFilters(filter: string, brushFilter: string): string {
  if (!brushFilter) return filter;
  return filter.trim() ? `(${filter}) AND ${brushFilter}` : brushFilter;
}

function chartKey(node: FilterNode): ChartKey | null {
  if (node.type !== "cmp") return null;
  const { kind, key } = node.entity;
  if (kind === "param") return `params.${key}`;
  if (kind === "metric") return `metrics.${key}`;
  if (kind === "attribute" && key in FILTER_ATTRIBUTES) return `attributes.${key}`;
  return null;
}

/**
 * The brushes of a `brush=` text (what brushesToFilter wrote). Anything else — OR, other operators, a syntax
 * error — answers an error message, so a hand-edited link is refused in words rather than half applied.
 */
export function brushesFromFilter(text: string): { brushes: ChartBrush[]; error?: string } {
  let node: FilterNode | null;
  try {
    node = parseFilter(text);
  } catch (err) {
    if (err instanceof FilterSyntaxError) return { brushes: [], error: err.message };
    throw err;
  }
  if (!node) return { brushes: [] };
  const conditions = node.type === "and" ? node.children : [node];
  const byKey = new Map<ChartKey, ChartBrush>();
  for (const c of conditions) {
    const key = chartKey(c);
    if (!key || c.type !== "cmp") return { brushes: [], error: "A chart selection holds only ranges (>=, <=) and IN lists on params, metrics and run attributes." };
    const seen = byKey.get(key);
    if (c.op === "IN" && Array.isArray(c.value) && !seen) {
      byKey.set(key, { key, kind: "in", values: c.value.map(String) });
    } else if ((c.op === ">=" || c.op === "<=") && typeof c.value === "number" && (!seen || seen.kind === "range")) {
      const range = seen?.kind === "range" ? seen : { key, kind: "range" as const, min: -Infinity, max: Infinity };
      byKey.set(key, c.op === ">=" ? { ...range, min: c.value } : { ...range, max: c.value });
    } else {
      return { brushes: [], error: `The chart selection on ${key} is not a range or a list of values.` };
    }
  }
  return { brushes: [...byKey.values()] };
}

/** Whether a run's value lies in the brush, as the server's search decides it. */
export function inBrush(b: ChartBrush, value: Value): boolean {
  if (value === null) return false;
  if (b.kind === "in") return b.values.includes(String(value));
  const n = typeof value === "number" ? value : NUMERIC_TEXT.test(value) ? Number(value) : Number.NaN;
  const [lo, hi] = b.min <= b.max ? [b.min, b.max] : [b.max, b.min];
  return Number.isFinite(n) && n >= lo && n <= hi;
}

/** A range rounded to about a thousandth of the axis's span (so a link stays short), widened never narrowed. */
export function roundedRange(a: number, b: number, span: number): { min: number; max: number } {
  const [lo, hi] = a <= b ? [a, b] : [b, a];
  if (!(span > 0) || !Number.isFinite(span)) return { min: lo, max: hi };
  const step = 10 ** (Math.floor(Math.log10(span)) - 3);
  const tidy = (v: number) => Number(v.toPrecision(12));
  return { min: tidy(Math.floor(lo / step) * step), max: tidy(Math.ceil(hi / step) * step) };
}

/** The brush an axis drag from unit `from` to unit `to` draws (0 = the scale's low end); null when it holds nothing. */
export function brushFromUnits(key: ChartKey, scale: Scale, from: number, to: number): ChartBrush | null {
  const [lo, hi] = from <= to ? [from, to] : [to, from];
  if (scale.kind === "numeric") {
    const at = (u: number) => scale.min + Math.min(1, Math.max(0, u)) * (scale.max - scale.min);
    return { key, kind: "range", ...roundedRange(at(lo), at(hi), scale.max - scale.min) };
  }
  // A category is in when its position is, with a little slack so a short drag over one category takes it.
  const slack = 0.5 / Math.max(1, scale.categories.length - 1) * 0.5;
  const values = scale.categories.filter((c) => { const u = scale.toUnit(c)!; return u >= lo - slack && u <= hi + slack; });
  return values.length > 0 ? { key, kind: "in", values } : null;
}

/** Where a brush lies on an axis, in units clamped to [0, 1]; null when the axis shows none of it. */
export function brushUnits(scale: Scale, b: ChartBrush): [number, number] | null {
  const units = b.kind === "range"
    ? (scale.kind === "numeric" ? [scale.toUnit(b.min), scale.toUnit(b.max)] : scale.categories.filter((c) => inBrush(b, c)).map((c) => scale.toUnit(c)))
    : b.values.map((v) => scale.toUnit(v));
  const present = units.filter((u): u is number => u !== null && Number.isFinite(u));
  if (present.length === 0) return null;
  const pad = b.kind === "in" || scale.kind === "categorical" ? 0.02 : 0;
  const clamp = (u: number) => Math.min(1, Math.max(0, u));
  return [clamp(Math.min(...present) - pad), clamp(Math.max(...present) + pad)];
}

/** A brush in words: "0.01 – 0.05" or "adam, sgd". */
export function describeBrush(b: ChartBrush): string {
  if (b.kind === "in") return b.values.length > 4 ? `${b.values.slice(0, 4).join(", ")} and ${b.values.length - 4} more` : b.values.join(", ");
  return `${b.min} – ${b.max}`;
}
