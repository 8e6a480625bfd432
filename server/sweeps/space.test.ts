// The search space's own algorithms: grid enumeration, seeded random draws, the median rule, trial commands.
import { describe, expect, it } from "vitest";
import type { SweepParam } from "@/db/schema";
import { medianRuleVerdict } from "./early-stopping";
import { gridPoint, gridSize, gridValues, randomPoint, trialCommand } from "./space";

const SPACE: SweepParam[] = [
  { name: "opt", type: "categorical", values: ["sgd", "adam"] },
  { name: "depth", type: "int", low: 1, high: 3 },
  { name: "seed", type: "fixed", value: 42 },
];

describe("grid", () => {
  it("enumerates every combination once, the last param fastest, and ends", () => {
    expect(gridSize(SPACE, 3)).toBe(6);
    const points = Array.from({ length: 6 }, (_, i) => gridPoint(SPACE, 3, i));
    expect(points).toEqual([
      { opt: "sgd", depth: 1, seed: 42 }, { opt: "sgd", depth: 2, seed: 42 }, { opt: "sgd", depth: 3, seed: 42 },
      { opt: "adam", depth: 1, seed: 42 }, { opt: "adam", depth: 2, seed: 42 }, { opt: "adam", depth: 3, seed: 42 },
    ]);
    expect(gridPoint(SPACE, 3, 6)).toBeNull();
  });

  it("spaces continuous params evenly (log-uniform on a log scale) and thins wide int ranges", () => {
    expect(gridValues({ name: "x", type: "uniform", low: 0, high: 1 }, 5)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(gridValues({ name: "lr", type: "log_uniform", low: 0.001, high: 0.1 }, 3)).toEqual([0.001, 0.01, 0.1]);
    expect(gridValues({ name: "n", type: "int", low: 0, high: 100 }, 3)).toEqual([0, 50, 100]);
  });
});

describe("random", () => {
  const space: SweepParam[] = [
    { name: "lr", type: "log_uniform", low: 0.0001, high: 1 },
    { name: "x", type: "uniform", low: -2, high: 2 },
    { name: "n", type: "int", low: 1, high: 4 },
    { name: "opt", type: "categorical", values: ["a", "b", "c"] },
  ];

  it("draws the same params for the same seed and trial, others for another seed", () => {
    const a = Array.from({ length: 20 }, (_, i) => randomPoint(space, 11, i));
    expect(Array.from({ length: 20 }, (_, i) => randomPoint(space, 11, i))).toEqual(a);
    expect(Array.from({ length: 20 }, (_, i) => randomPoint(space, 12, i))).not.toEqual(a);
    expect(new Set(a.map((p) => p.lr)).size).toBe(20);
  });

  it("stays within bounds and covers the space", () => {
    const draws = Array.from({ length: 400 }, (_, i) => randomPoint(space, 3, i));
    for (const d of draws) {
      expect(d.lr as number).toBeGreaterThanOrEqual(0.0001);
      expect(d.lr as number).toBeLessThanOrEqual(1);
      expect(Number.isInteger(d.n)).toBe(true);
    }
    expect(new Set(draws.map((d) => d.n))).toEqual(new Set([1, 2, 3, 4]));
    expect(new Set(draws.map((d) => d.opt))).toEqual(new Set(["a", "b", "c"]));
    // Log-uniform: about half the draws below the geometric middle (0.01).
    const below = draws.filter((d) => (d.lr as number) < 0.01).length;
    expect(below).toBeGreaterThan(150);
    expect(below).toBeLessThan(250);
  });

  it("passes params to the job as --name=value after the template's command", () => {
    expect(trialCommand(["node", "train.mjs", "--epochs", "30"], { lr: 0.05, l2: 0.001 })).toEqual(["node", "train.mjs", "--epochs", "30", "--lr=0.05", "--l2=0.001"]);
  });
});

describe("median rule", () => {
  const rule = { direction: "minimize" as const, minTrials: 2, minSteps: 1 };

  it("stops a trial worse than the median of finished trials at its step, not before min_steps or min_trials", () => {
    expect(medianRuleVerdict({ ...rule, step: 1, best: 0.8, others: [0.5, 0.45, 0.6] })).toEqual({ step: 1, best: 0.8, median: 0.5, compared: 3 });
    expect(medianRuleVerdict({ ...rule, step: 1, best: 0.45, others: [0.5, 0.45, 0.6] })).toBeNull();
    expect(medianRuleVerdict({ ...rule, minSteps: 2, step: 1, best: 0.8, others: [0.5, 0.45, 0.6] })).toBeNull();
    expect(medianRuleVerdict({ ...rule, minTrials: 4, step: 1, best: 0.8, others: [0.5, 0.45, 0.6] })).toBeNull();
    expect(medianRuleVerdict({ ...rule, direction: "maximize", step: 0, best: 0.65, others: [0.6, 0.55, 0.7] })).toBeNull();
    expect(medianRuleVerdict({ ...rule, direction: "maximize", step: 3, best: 0.5, others: [0.8, 0.9] })).toMatchObject({ best: 0.5, compared: 2 });
  });
});
