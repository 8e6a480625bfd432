// One number format per table column: the same decimals all the way down, chosen from the column's values.
import type { MetricValue } from "./format-metric";

export type ColumnFormat = { kind: "fixed"; decimals: number } | { kind: "exponential"; digits: number };

/** Significant digits kept for the smallest magnitude in a column. */
const SIGNIFICANT = 4;
/** The most decimals a fixed column shows; a column that needs more is shown in exponent form. */
export const MAX_DECIMALS = 6;

/**
 * Integers only: no decimals. Otherwise enough decimals to give the smallest nonzero magnitude four
 * significant digits (0.8512 → 4, 12.5 → 2, 1234.5 → 0), at most six; smaller magnitudes than that
 * switch the whole column to exponent form so it still lines up.
 */
export function columnFormat(values: readonly (MetricValue | undefined)[]): ColumnFormat {
  const finite = values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  if (finite.every((v) => Number.isInteger(v))) return { kind: "fixed", decimals: 0 };
  const nonzero = finite.filter((v) => v !== 0).map(Math.abs);
  const smallest = Math.min(...nonzero);
  const decimals = Math.max(0, SIGNIFICANT - 1 - Math.floor(Math.log10(smallest)));
  if (decimals > MAX_DECIMALS) return { kind: "exponential", digits: SIGNIFICANT - 1 };
  return { kind: "fixed", decimals };
}

/** A value in its column's format; "NaN" and the infinities as MLflow writes them, an absent value as a dash. */
export function formatInColumn(v: MetricValue | undefined, format: ColumnFormat): string {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  return format.kind === "fixed" ? v.toFixed(format.decimals) : v.toExponential(format.digits);
}
