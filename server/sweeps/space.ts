// The search space's own algorithms: grid enumeration and seeded random draws (Bayesian search is Optuna's, in
// suggest.py), and how a trial's params reach its job (`--<name>=<value>` after the template's command).
import type { SweepParam } from "@/db/schema";

export type TrialParams = Record<string, string | number>;

/** Floats are kept to 6 significant digits, so the value a job parses and logs back reads the same. */
export function roundParam(x: number): number {
  return Number(x.toPrecision(6));
}

/** The values a grid takes for one param: every categorical value, int in `points` steps (all when fewer), floats in `points` steps. */
export function gridValues(p: SweepParam, points: number): (string | number)[] {
  switch (p.type) {
    case "fixed":
      return [p.value];
    case "categorical":
      return p.values;
    case "int": {
      const span = p.high - p.low;
      if (span + 1 <= points) return Array.from({ length: span + 1 }, (_, i) => p.low + i);
      return [...new Set(Array.from({ length: points }, (_, i) => Math.round(p.low + (span * i) / (points - 1))))];
    }
    case "uniform":
      return Array.from({ length: points }, (_, i) => roundParam(p.low + ((p.high - p.low) * i) / (points - 1)));
    case "log_uniform": {
      const [a, b] = [Math.log(p.low), Math.log(p.high)];
      return Array.from({ length: points }, (_, i) => roundParam(Math.exp(a + ((b - a) * i) / (points - 1))));
    }
  }
}

/** How many points the grid has. */
export function gridSize(space: SweepParam[], points: number): number {
  return space.reduce((n, p) => n * gridValues(p, points).length, 1);
}

/** The grid's `index`-th point (the last param varies fastest), or null past its end. */
export function gridPoint(space: SweepParam[], points: number, index: number): TrialParams | null {
  if (index < 0 || index >= gridSize(space, points)) return null;
  const out: TrialParams = {};
  let rest = index;
  for (let i = space.length - 1; i >= 0; i--) {
    const values = gridValues(space[i]!, points);
    out[space[i]!.name] = values[rest % values.length]!;
    rest = Math.floor(rest / values.length);
  }
  return Object.fromEntries(space.map((p) => [p.name, out[p.name]!]));
}

/** mulberry32: a small seeded PRNG, so trial n of a seeded random sweep draws the same params every time. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Trial `number`'s random draw: a function of (seed, number) only, so a driver restart draws the same. */
export function randomPoint(space: SweepParam[], seed: number, number: number): TrialParams {
  const rand = prng((Math.imul(seed, 0x9e3779b1) ^ Math.imul(number + 1, 0x85ebca6b)) >>> 0);
  rand();
  const out: TrialParams = {};
  for (const p of space) {
    const u = rand();
    switch (p.type) {
      case "fixed":
        out[p.name] = p.value;
        break;
      case "categorical":
        out[p.name] = p.values[Math.min(p.values.length - 1, Math.floor(u * p.values.length))]!;
        break;
      case "int":
        out[p.name] = Math.min(p.high, p.low + Math.floor(u * (p.high - p.low + 1)));
        break;
      case "uniform":
        out[p.name] = roundParam(p.low + u * (p.high - p.low));
        break;
      case "log_uniform":
        out[p.name] = roundParam(Math.exp(Math.log(p.low) + u * (Math.log(p.high) - Math.log(p.low))));
        break;
    }
  }
  return out;
}

/** The trial's command: the template's, then each param as `--<name>=<value>` (what argparse, click and the examples take). */
export function trialCommand(command: string[], params: TrialParams): string[] {
  return [...command, ...Object.entries(params).map(([k, v]) => `--${k}=${String(v)}`)];
}
