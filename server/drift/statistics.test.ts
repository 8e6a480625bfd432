// The statistics drift is judged by, on distributions whose answers are known: PSI by hand and for two normal
// distributions (the continuous PSI over the same bins), chi-square p-values from the textbook tables, bins
// from quantiles, and one feature's figures (missing, invalid, unseen categories).
import { cumulativeStdNormalProbability, probit } from "simple-statistics";
import { describe, expect, it } from "vitest";
import { referenceProfileSchema } from "@/lib/schemas/drift";
import { featureFigures, OTHER_CATEGORY } from "./compute";
import { profileFromRows } from "./reference";
import { binIndex, chiSquareSurvival, chiSquareTest, histogram, psi, quantileEdges } from "./statistics";

/** n values of N(mean, 1) at evenly spaced probabilities: a sample with no randomness in it. */
const normal = (n: number, mean = 0) => Array.from({ length: n }, (_, i) => mean + probit((i + 0.5) / n));

describe("PSI", () => {
  it("is 0 for the same distribution and matches the formula by hand", () => {
    expect(psi([10, 20, 30], [1, 2, 3])).toBeCloseTo(0, 12);
    // (0.25 − 0.5)·ln(0.25/0.5) + (0.75 − 0.5)·ln(0.75/0.5)
    expect(psi([50, 50], [25, 75])).toBeCloseTo(0.25 * Math.log(2) + 0.25 * Math.log(1.5), 10);
  });

  it("smooths empty bins instead of answering infinity, and answers null for no data", () => {
    const value = psi([100, 0], [50, 50])!;
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeGreaterThan(1);
    expect(psi([1, 1], [0, 0])).toBeNull();
    expect(() => psi([1, 1], [1, 1, 1])).toThrow(/bins/);
  });

  it("of N(1, 1) against N(0, 1) over N(0, 1)'s deciles equals the continuous PSI over those bins", () => {
    const reference = normal(100_000);
    const edges = quantileEdges(reference, 10);
    expect(edges).toHaveLength(11);
    const live = histogram(edges, normal(100_000, 1));
    // The exact shares of N(1, 1) in each decile bin of N(0, 1) (the end bins run to ±∞).
    const cdf = (x: number) => cumulativeStdNormalProbability(x);
    const inner = edges.slice(1, -1);
    const bounds = [-Infinity, ...inner, Infinity];
    let exact = 0;
    for (let i = 0; i < 10; i++) {
      const e = 0.1;
      const a = (bounds[i + 1] === Infinity ? 1 : cdf(bounds[i + 1]! - 1)) - (bounds[i] === -Infinity ? 0 : cdf(bounds[i]! - 1));
      exact += (a - e) * Math.log(a / e);
    }
    // simple-statistics' normal CDF is a table (4 digits), hence the tolerance.
    expect(psi(histogram(edges, reference), live)!).toBeCloseTo(exact, 2);
    expect(exact).toBeGreaterThan(0.25);
  });

  it("stays small for a sample of the reference distribution and grows with the shift", () => {
    const reference = normal(20_000);
    const edges = quantileEdges(reference, 10);
    const expected = histogram(edges, reference);
    const same = psi(expected, histogram(edges, normal(2_000)))!;
    const slight = psi(expected, histogram(edges, normal(2_000, 0.1)))!;
    const large = psi(expected, histogram(edges, normal(2_000, 1)))!;
    expect(same).toBeLessThan(0.01);
    expect(slight).toBeLessThan(0.1);
    expect(large).toBeGreaterThan(0.25);
    expect(same).toBeLessThan(slight);
    expect(slight).toBeLessThan(large);
  });
});

describe("bins", () => {
  it("puts values in [e_i, e_i+1), the last bin closed, and outside values in the end bins", () => {
    const edges = [0, 1, 2, 3];
    expect([-5, 0, 0.5, 1, 1.99, 2, 3, 10].map((x) => binIndex(edges, x))).toEqual([0, 0, 0, 1, 1, 2, 2, 2]);
    expect(binIndex([0, 1], 7)).toBe(0);
    expect(histogram(edges, [0.1, 1.1, 1.2, 2.5])).toEqual([1, 2, 1]);
  });

  it("merges repeated quantiles and gives a single value one bin", () => {
    expect(quantileEdges([3, 3, 3, 3, 3, 3, 3, 9], 2)).toEqual([3, 9]);
    expect(quantileEdges([5, 5, 5], 10)).toEqual([5, 6]);
    expect(quantileEdges([], 10)).toEqual([]);
  });
});

describe("chi-square", () => {
  it("answers the tables' p-values at their critical values", () => {
    expect(chiSquareSurvival(3.841, 1)).toBeCloseTo(0.05, 3);
    expect(chiSquareSurvival(5.991, 2)).toBeCloseTo(0.05, 3);
    expect(chiSquareSurvival(18.307, 10)).toBeCloseTo(0.05, 3);
    expect(chiSquareSurvival(6.635, 1)).toBeCloseTo(0.01, 3);
    expect(chiSquareSurvival(2, 2)).toBeCloseTo(Math.exp(-1), 10);
    expect(chiSquareSurvival(0, 3)).toBe(1);
  });

  it("tests observed counts against the reference's shares", () => {
    // Expected 50/50 of 100; observed 60/40: statistic (10² + 10²) / 50 = 4, df 1.
    const t = chiSquareTest([500, 500], [60, 40])!;
    expect(t.statistic).toBeCloseTo(4, 10);
    expect(t.df).toBe(1);
    expect(t.p).toBeCloseTo(0.0455, 3);
    expect(chiSquareTest([1, 2, 3], [10, 20, 30])!.p).toBeCloseTo(1, 10);
    expect(chiSquareTest([1], [1])).toBeNull();
  });
});

describe("one feature's figures", () => {
  it("numbers: missing, wrong type and out of range counted; PSI over the reference's bins", () => {
    const f = featureFigures({ name: "x", kind: "numeric", bin_edges: [0, 10, 20], counts: [50, 50], range: [0, 20] }, [1, 2, 15, null, "", "abc", 25, true]);
    expect(f.samples).toBe(8);
    expect(f.missingShare).toBeCloseTo(2 / 8);
    expect(f.invalidShare).toBeCloseTo(2 / 8); // "abc" and 25 (outside the range)
    expect(f.live).toEqual({ kind: "numeric", counts: [3, 2] }); // 1, 2, true(=1) | 15, 25
    expect(f.psi).toBeCloseTo(psi([50, 50], [3, 2])!, 12);
  });

  it("categories: unseen ones counted as (other) and invalid; the chi-square p-value is small for a shifted mix", () => {
    const spec = { name: "c", kind: "categorical" as const, counts: { a: 500, b: 500 } };
    const even = featureFigures(spec, [...Array(50).fill("a"), ...Array(50).fill("b")]);
    expect(even.psi).toBeCloseTo(0, 10);
    expect(even.chiSquareP).toBeCloseTo(1, 10);
    const shifted = featureFigures(spec, [...Array(90).fill("a"), ...Array(5).fill("b"), "z", "z", "z", "z", { bad: 1 }]);
    expect(shifted.live).toEqual({ kind: "categorical", counts: { a: 90, b: 5, [OTHER_CATEGORY]: 4 } });
    expect(shifted.invalidShare).toBeCloseTo(5 / 100);
    expect(shifted.chiSquareP!).toBeLessThan(1e-6);
    expect(shifted.psi!).toBeGreaterThan(0.25);
  });

  it("counts a live value named like an inherited property (constructor, toString, __proto__) as an unseen category", () => {
    const spec = { name: "c", kind: "categorical" as const, counts: { a: 50, b: 50 } };
    for (const name of ["constructor", "toString", "__proto__", "hasOwnProperty", "valueOf"]) {
      const f = featureFigures(spec, [name]);
      expect(f.live).toEqual({ kind: "categorical", counts: { a: 0, b: 0, [OTHER_CATEGORY]: 1 } });
      expect(JSON.stringify(f.live)).not.toMatch(/function|native code/);
      expect(f.psi === null || Number.isFinite(f.psi)).toBe(true);
      expect(f.chiSquareP === null || Number.isFinite(f.chiSquareP)).toBe(true);
      expect(f.psi!).toBeGreaterThan(1);
    }
  });

  it("judges a reference category named constructor or toString as the plain string it is", () => {
    const profile = referenceProfileSchema.parse(JSON.parse('{"format":"cairn.reference_profile/v1","features":[{"name":"job","kind":"categorical","counts":{"constructor":50,"toString":50}}]}'));
    const spec = profile.features[0]!;
    const even = featureFigures(spec, [...Array(50).fill("constructor"), ...Array(50).fill("toString")]);
    expect(even.live).toEqual({ kind: "categorical", counts: { constructor: 50, toString: 50 } });
    expect(even.psi).toBeCloseTo(0, 10);
    expect(even.chiSquareP).toBeCloseTo(1, 10);
    const other = featureFigures(spec, ["valueOf", "constructor"]);
    expect(other.live).toEqual({ kind: "categorical", counts: { constructor: 1, toString: 0, [OTHER_CATEGORY]: 1 } });
  });

  it("refuses a reference category named __proto__ with a message that says how to fix it", () => {
    const parsed = referenceProfileSchema.safeParse(JSON.parse('{"format":"cairn.reference_profile/v1","features":[{"name":"c","kind":"categorical","counts":{"__proto__":3,"a":2}}]}'));
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0]!.message).toMatch(/may not be named __proto__ \(rename it/);
  });

  it("builds a profile from example rows whose values are named like inherited properties", () => {
    const profile = profileFromRows([{ c: "constructor" }, { c: "toString" }, { c: "__proto__" }, { c: "constructor" }])!;
    const counts = (profile.features[0] as { counts: Record<string, number> }).counts;
    expect(JSON.parse(JSON.stringify(counts))).toEqual({ constructor: 2, toString: 1, ["__proto__"]: 1 });
  });
});
