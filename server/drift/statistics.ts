// The statistics drift is judged by. PSI is a formula (Σ (a − e)·ln(a / e) over bin shares, empty bins
// smoothed); the chi-square test's p-value is the regularized upper incomplete gamma function Q(k/2, x/2),
// computed from simple-statistics' log-gamma (`gammaln`) by the series and continued fraction of Numerical
// Recipes §6.2, as simple-statistics has no chi-square CDF of its own; quantiles (bins from a sample) are
// simple-statistics' `quantileSorted`.
import { gammaln, quantileSorted } from "simple-statistics";

/** Shares below this count as this (an empty bin would make PSI infinite). */
const EPSILON = 1e-4;

const shares = (counts: readonly number[]): number[] => {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((c) => Math.max(total > 0 ? c / total : 0, EPSILON));
};

/** Population stability index of `actual` against `expected` (counts over the same bins); null when either is empty. */
export function psi(expected: readonly number[], actual: readonly number[]): number | null {
  if (expected.length !== actual.length) throw new Error(`psi: ${expected.length} expected bins against ${actual.length} actual`);
  if (expected.reduce((a, b) => a + b, 0) <= 0 || actual.reduce((a, b) => a + b, 0) <= 0) return null;
  const e = shares(expected);
  const a = shares(actual);
  let sum = 0;
  for (let i = 0; i < e.length; i++) sum += (a[i]! - e[i]!) * Math.log(a[i]! / e[i]!);
  return sum;
}

/** The bin of `x` among `edges` (k+1 increasing edges, k bins [e_i, e_i+1), the last closed); outside values go to the end bins. */
export function binIndex(edges: readonly number[], x: number): number {
  const bins = edges.length - 1;
  if (x < edges[1]!) return 0;
  if (x >= edges[bins - 1]!) return bins - 1;
  let lo = 1;
  let hi = bins - 1;
  // edges[lo] <= x < edges[hi]
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (x >= edges[mid]!) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Counts of `values` in the bins of `edges`. */
export function histogram(edges: readonly number[], values: readonly number[]): number[] {
  const counts = new Array<number>(edges.length - 1).fill(0);
  for (const v of values) counts[binIndex(edges, v)]!++;
  return counts;
}

/** Bin edges at the quantiles of a sample (at most `bins` bins; repeated quantiles merge). */
export function quantileEdges(values: readonly number[], bins = 10): number[] {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const q = quantileSorted(sorted, i / bins);
    if (edges.length === 0 || q > edges[edges.length - 1]!) edges.push(q);
  }
  // One distinct value: a single bin around it.
  if (edges.length === 1) edges.push(edges[0]! + 1);
  return edges;
}

/** P[X ≥ x] for X chi-square with `df` degrees of freedom. */
export function chiSquareSurvival(x: number, df: number): number {
  if (!(df > 0)) throw new Error("chiSquareSurvival: df must be positive");
  if (x <= 0) return 1;
  return upperRegularizedGamma(df / 2, x / 2);
}

function upperRegularizedGamma(a: number, x: number): number {
  const lnPrefix = -x + a * Math.log(x) - gammaln(a);
  if (x < a + 1) {
    // Series for P(a, x); Q = 1 − P.
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 1000; n++) {
      term *= x / (a + n);
      sum += term;
      if (Math.abs(term) < Math.abs(sum) * 1e-15) break;
    }
    return Math.min(1, Math.max(0, 1 - sum * Math.exp(lnPrefix)));
  }
  // Continued fraction for Q(a, x) (modified Lentz).
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.min(1, Math.max(0, Math.exp(lnPrefix) * h));
}

/**
 * Pearson's chi-square goodness-of-fit of observed counts against the expected shares (same categories): the
 * statistic, its degrees of freedom and p-value. Null with fewer than 2 categories or no observations.
 */
export function chiSquareTest(expectedCounts: readonly number[], observed: readonly number[]): { statistic: number; df: number; p: number } | null {
  if (expectedCounts.length !== observed.length || expectedCounts.length < 2) return null;
  const n = observed.reduce((a, b) => a + b, 0);
  if (n <= 0) return null;
  const e = shares(expectedCounts);
  const total = e.reduce((a, b) => a + b, 0);
  let statistic = 0;
  for (let i = 0; i < e.length; i++) {
    const expected = (e[i]! / total) * n;
    statistic += (observed[i]! - expected) ** 2 / expected;
  }
  const df = e.length - 1;
  return { statistic, df, p: chiSquareSurvival(statistic, df) };
}
