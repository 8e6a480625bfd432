// The split's arithmetic: the variant choice (weights within tolerance over many requests, sticky keys), the
// AUC by ranks against a pairwise count, accuracy, and the prediction read from both answer formats.
import { describe, expect, it } from "vitest";
import { aucByRanks, firstPrediction, quality } from "./split-quality";
import { regression } from "./split-guard";
import { keyPoint, pickVariant } from "./split-routing";

/** A seeded generator, so a failure repeats. */
function lcg(seed: number): () => number {
  let x = seed;
  return () => ((x = (Math.imul(x, 1_664_525) + 1_013_904_223) >>> 0) / 2 ** 32);
}

describe("pickVariant", () => {
  it("sends the weight's share to the candidate within half a point over 100,000 random requests", () => {
    for (const weight of [1, 10, 50, 90, 99]) {
      const random = lcg(weight);
      let candidate = 0;
      for (let i = 0; i < 100_000; i++) if (pickVariant({ id: "s", weight, sticky: false }, null, random) === "candidate") candidate++;
      expect(Math.abs(candidate / 1000 - weight), `weight ${weight}`).toBeLessThan(0.5);
    }
  });

  it("keeps a key on one variant and spreads 20,000 keys by the weight", () => {
    const split = { id: "0f8e3a52-6d8b-4c55-9a51-31c1f0b2a7e9", weight: 10, sticky: true };
    let candidate = 0;
    for (let k = 0; k < 20_000; k++) {
      const key = `customer-${k}`;
      const v = pickVariant(split, key, () => 0.999);
      // The random draw plays no part for a sticky split with a key.
      expect(pickVariant(split, key, () => 0)).toBe(v);
      if (v === "candidate") candidate++;
    }
    expect(Math.abs(candidate / 200 - 10)).toBeLessThan(1);
    // Another split re-deals the keys; a sticky split without a key falls back to the draw.
    expect(keyPoint("a", "k")).not.toBe(keyPoint("b", "k"));
    expect(pickVariant(split, null, () => 0)).toBe("candidate");
    expect(pickVariant(split, null, () => 0.5)).toBe("baseline");
  });
});

describe("aucByRanks", () => {
  const pairwise = (pairs: { score: number; positive: boolean }[]) => {
    let wins = 0;
    let n = 0;
    for (const p of pairs.filter((x) => x.positive)) for (const q of pairs.filter((x) => !x.positive)) {
      n++;
      wins += p.score > q.score ? 1 : p.score === q.score ? 0.5 : 0;
    }
    return wins / n;
  };

  it("equals the share of (positive, negative) pairs ranked right, ties counting half", () => {
    const random = lcg(7);
    for (let t = 0; t < 20; t++) {
      const pairs = Array.from({ length: 60 }, () => ({ score: Math.round(random() * 10) / 10, positive: random() < 0.4 }));
      if (pairs.every((p) => p.positive) || pairs.every((p) => !p.positive)) continue;
      expect(aucByRanks(pairs)).toBeCloseTo(pairwise(pairs), 12);
    }
    expect(aucByRanks([{ score: 0.9, positive: true }, { score: 0.1, positive: false }])).toBe(1);
    expect(aucByRanks([{ score: 0.1, positive: true }, { score: 0.9, positive: false }])).toBe(0);
    expect(aucByRanks([{ score: 0.5, positive: true }, { score: 0.5, positive: false }])).toBe(0.5);
    expect(aucByRanks([{ score: 0.5, positive: true }])).toBeNull();
  });

  it("gives accuracy for classes and accuracy at 0.5 plus AUC for scores", () => {
    expect(quality([])).toEqual({ labelled: 0, accuracy: null, auc: null });
    expect(quality([{ prediction: 2, kind: "class", label: 2 }, { prediction: 1, kind: "class", label: 0 }])).toEqual({ labelled: 2, accuracy: 0.5, auc: null });
    expect(quality([{ prediction: 0.8, kind: "score", label: 1 }, { prediction: 0.3, kind: "score", label: 1 }, { prediction: 0.2, kind: "score", label: 0 }])).toEqual({ labelled: 3, accuracy: 2 / 3, auc: 1 });
  });
});

describe("firstPrediction", () => {
  it("reads the first output's first row: a score from [p0, p1], a class from a longer row or an integer", () => {
    expect(firstPrediction({ outputs: [{ name: "probabilities", shape: [2, 2], data: [0.3, 0.7, 0.9, 0.1] }] })).toEqual({ prediction: 0.7, kind: "score" });
    expect(firstPrediction({ outputs: [{ name: "p", shape: [1, 3], data: [0.1, 0.7, 0.2] }] })).toEqual({ prediction: 1, kind: "class" });
    expect(firstPrediction({ outputs: [{ name: "label", shape: [2], data: [3, 1] }] })).toEqual({ prediction: 3, kind: "class" });
    expect(firstPrediction({ predictions: [[0.4, 0.6]] })).toEqual({ prediction: 0.6, kind: "score" });
    expect(firstPrediction({ predictions: [{ label: 1, probabilities: [0.2, 0.8] }] })).toEqual({ prediction: 1, kind: "class" });
    expect(firstPrediction({ predictions: [0.25] })).toEqual({ prediction: 0.25, kind: "score" });
    expect(firstPrediction({ error: "bad" })).toBeNull();
    expect(firstPrediction({ predictions: [] })).toBeNull();
  });
});

describe("regression (the guard's rule)", () => {
  const s = { maxErrorSharePoints: 2, maxP99IncreaseMs: 50, minRequests: 100 };
  const v = (requests: number, error_share: number, latency_p99_ms: number) => ({ requests, error_share, latency_p99_ms });

  it("judges only past the minimum requests of both variants, then on error share points or p99 milliseconds", () => {
    expect(regression(s, { baseline: v(99, 0, 10), candidate: v(500, 0.5, 900) })).toBeNull();
    expect(regression(s, { baseline: v(100, 0.01, 10), candidate: v(100, 0.03, 60) })).toBeNull();
    const errors = regression(s, { baseline: v(100, 0.01, 10), candidate: v(100, 0.031, 10) });
    expect(errors?.details).toMatchObject({ trigger: "error_share", error_share_points: 2.1, threshold_points: 2 });
    const slow = regression(s, { baseline: v(200, 0, 12.5), candidate: v(150, 0, 80) });
    expect(slow?.reason).toBe("candidate p99 80 ms is 67.5 ms above the baseline's 12.5 ms (threshold 50 ms; 150 and 200 requests)");
    expect(slow?.details).toMatchObject({ trigger: "p99", p99_increase_ms: 67.5, candidate_p99_ms: 80, baseline_p99_ms: 12.5 });
    expect(regression({ ...s, maxErrorSharePoints: null, maxP99IncreaseMs: null }, { baseline: v(1000, 0, 1), candidate: v(1000, 1, 1000) })).toBeNull();
  });
});
