/** A metric value as the API sends it: a number, or "NaN" / "Infinity" / "-Infinity". */
export type MetricValue = number | "NaN" | "Infinity" | "-Infinity";

export function toNumber(v: MetricValue): number {
  return typeof v === "number" ? v : v === "NaN" ? Number.NaN : v === "Infinity" ? Infinity : -Infinity;
}
