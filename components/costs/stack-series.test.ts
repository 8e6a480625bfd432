import { describe, expect, it } from "vitest";
import { OTHER_KEY, dayOf, stackSeries } from "./stack-series";

const DAY = 86_400;
const series = (n: number) => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, points: [[0, 10 - i], [DAY, 1]] as [number, number][] }));

describe("stackSeries", () => {
  it("keeps up to eight keys as they are", () => {
    const stack = stackSeries(series(8));
    expect(stack.keys).toEqual(["k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7"]);
    expect(stack.rows.map((r) => r.t)).toEqual([0, DAY]);
  });

  it("sums the keys past the eighth as other, day by day", () => {
    const stack = stackSeries(series(10));
    expect(stack.keys).toHaveLength(9);
    expect(stack.keys.at(-1)).toBe(OTHER_KEY);
    expect(stack.rows[0]!.amounts.at(-1)).toBe(2 + 1); // k8 and k9 on day one
    expect(stack.rows[1]!.amounts.at(-1)).toBe(2);
  });

  it("draws nothing without series", () => {
    expect(stackSeries([])).toEqual({ keys: [], rows: [] });
  });

  it("names a bucket by its UTC day", () => {
    expect(dayOf(20_000 * DAY)).toBe("2024-10-04");
  });
});
