import { describe, expect, it } from "vitest";
import { columnFormat, formatInColumn } from "./column-precision";
import type { MetricValue } from "./format-metric";

const show = (values: (MetricValue | undefined)[]) => {
  const f = columnFormat(values);
  return values.map((v) => formatInColumn(v, f));
};

describe("columnFormat", () => {
  it("gives every value in a column the same decimals", () => {
    expect(show([0.9, 0.85123, 0.8])).toEqual(["0.9000", "0.8512", "0.8000"]);
    expect(show([12.5, 3, 100.25])).toEqual(["12.500", "3.000", "100.250"]);
  });

  it("takes enough decimals for the smallest magnitude, at most six", () => {
    expect(columnFormat([0.5, 0.0123])).toEqual({ kind: "fixed", decimals: 5 });
    expect(columnFormat([0.001234])).toEqual({ kind: "fixed", decimals: 6 });
    expect(columnFormat([1234.5678, 2000.1])).toEqual({ kind: "fixed", decimals: 0 });
  });

  it("switches the whole column to exponent form when six decimals would not show the smallest value", () => {
    expect(show([0.00001234, 0.5])).toEqual(["1.234e-5", "5.000e-1"]);
  });

  it("shows integer columns without decimals, and leaves NaN, infinities and gaps alone", () => {
    expect(show([10, 200, undefined])).toEqual(["10", "200", "—"]);
    expect(show(["NaN", 0.25, "Infinity", 0])).toEqual(["NaN", "0.2500", "Infinity", "0.0000"]);
    expect(show([])).toEqual([]);
    expect(show(["NaN", "-Infinity"])).toEqual(["NaN", "-Infinity"]);
  });
});
