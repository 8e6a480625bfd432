import { describe, expect, it } from "vitest";
import { parseFilter } from "./search/filter";
import type { ChartBrush } from "./chart-brush";
import { brushConditions, brushesFromFilter, brushesToFilter, brushFromUnits, brushUnits, combineFilters, describeBrush, filterKey, inBrush, roundedRange, unfilterableReason } from "./chart-brush";
import { scaleFor } from "./chart-scales";

describe("brushes as search filter conditions", () => {
  it("turns a metric range into an inclusive range the server can search", () => {
    expect(brushConditions({ key: "metrics.acc", kind: "range", min: 0.8, max: 0.9 })).toBe("metrics.acc >= 0.8 AND metrics.acc <= 0.9");
  });

  it("turns a numeric param range into a numeric param range (unquoted numbers)", () => {
    expect(brushConditions({ key: "params.lr", kind: "range", min: 1e-7, max: 0.05 })).toBe("params.lr >= 1e-7 AND params.lr <= 0.05");
    expect(brushConditions({ key: "params.big", kind: "range", min: -1e21, max: 1e21 })).toBe("params.big >= -1e+21 AND params.big <= 1e+21");
  });

  it("turns categories into an IN list with quotes escaped", () => {
    expect(brushConditions({ key: "params.optimizer", kind: "in", values: ["sgd", "adam", "sgd"] })).toBe("params.optimizer IN ('adam', 'sgd')");
    expect(brushConditions({ key: "params.q", kind: "in", values: ["it's", "back\\slash"] })).toBe("params.q IN ('back\\\\slash', 'it''s')");
    expect(brushConditions({ key: "attributes.status", kind: "in", values: ["FINISHED"] })).toBe("attributes.status IN ('FINISHED')");
  });

  it("backticks odd key names, doubling backticks and backslashes", () => {
    expect(filterKey("metrics.val_auc")).toBe("metrics.val_auc");
    expect(filterKey("metrics.train/loss")).toBe("metrics.train/loss");
    expect(filterKey("metrics.f1 score")).toBe("metrics.`f1 score`");
    expect(filterKey("params.a`b")).toBe("params.`a``b`");
    expect(filterKey("params.ends\\")).toBe("params.`ends\\\\`");
    expect(filterKey("params.1st")).toBe("params.`1st`");
    expect(filterKey("params.a.")).toBe("params.`a.`");
    expect(filterKey("metrics.a'b OR 1=1")).toBe("metrics.`a'b OR 1=1`");
  });

  it("reads odd keys and values back exactly through the filter grammar", () => {
    const brushes: ChartBrush[] = [
      { key: "metrics.f1 score", kind: "range", min: 0.25, max: 0.5 },
      { key: "params.a`b\\", kind: "range", min: -3, max: 3 },
      { key: "params.weird 'name'", kind: "in", values: ["it's", "x\\'y", "a`b"] },
      { key: "attributes.start_time", kind: "range", min: 1_700_000_000_000, max: 1_700_000_001_000 },
    ];
    const text = brushesToFilter(brushes);
    expect(parseFilter(text)).not.toBeNull();
    expect(brushesFromFilter(text)).toEqual({ brushes: brushes.map((b) => (b.kind === "in" ? { ...b, values: [...b.values].sort() } : b)) });
  });

  it("reads a reversed range low end first, and an empty range as the one value", () => {
    expect(brushConditions({ key: "metrics.acc", kind: "range", min: 0.9, max: 0.8 })).toBe("metrics.acc >= 0.8 AND metrics.acc <= 0.9");
    expect(brushConditions({ key: "metrics.acc", kind: "range", min: 0.5, max: 0.5 })).toBe("metrics.acc >= 0.5 AND metrics.acc <= 0.5");
  });

  it("drops brushes that select nothing a filter can say", () => {
    expect(brushConditions({ key: "params.opt", kind: "in", values: [] })).toBeNull();
    expect(brushConditions({ key: "metrics.acc", kind: "range", min: Number.NaN, max: 1 })).toBeNull();
    expect(brushConditions({ key: "metrics.acc", kind: "range", min: 0, max: Infinity })).toBeNull();
    expect(brushesToFilter([])).toBe("");
    expect(brushesToFilter([{ key: "params.opt", kind: "in", values: [] }, { key: "metrics.acc", kind: "range", min: 1, max: 2 }])).toBe("metrics.acc >= 1 AND metrics.acc <= 2");
  });

  it("says which chart keys cannot narrow the table", () => {
    expect(unfilterableReason("attributes.duration", "range")).toMatch(/duration cannot be searched/);
    expect(unfilterableReason("attributes.status", "range")).toMatch(/status is text/);
    expect(unfilterableReason("attributes.start_time", "range")).toBeNull();
    expect(unfilterableReason("params.lr", "range")).toBeNull();
    expect(brushConditions({ key: "attributes.duration", kind: "range", min: 1, max: 2 })).toBeNull();
  });

  it("puts the user's filter in parentheses before the brushes", () => {
    expect(combineFilters("", "metrics.a >= 1 AND metrics.a <= 2")).toBe("metrics.a >= 1 AND metrics.a <= 2");
    expect(combineFilters("params.x = 'a' OR params.x = 'b'", "metrics.a >= 1 AND metrics.a <= 2")).toBe("(params.x = 'a' OR params.x = 'b') AND metrics.a >= 1 AND metrics.a <= 2");
    expect(combineFilters("params.x = 'a'", "")).toBe("params.x = 'a'");
    const node = parseFilter(combineFilters("params.x = 'a' OR params.x = 'b'", "metrics.a >= 1"));
    expect(node?.type).toBe("and");
  });

  it("refuses a brush text that is not a chart selection, in words", () => {
    expect(brushesFromFilter("metrics.a >= 1 OR metrics.b <= 2").error).toMatch(/only ranges/);
    expect(brushesFromFilter("metrics.a > 1").error).toMatch(/not a range/);
    expect(brushesFromFilter("tags.x IN ('a')").error).toMatch(/only ranges/);
    expect(brushesFromFilter("metrics.a >= ").error).toMatch(/expected a value/);
    expect(brushesFromFilter("")).toEqual({ brushes: [] });
  });

  it("decides membership as the server does", () => {
    const range: ChartBrush = { key: "params.lr", kind: "range", min: 0.01, max: 0.1 };
    expect(inBrush(range, "0.01")).toBe(true);
    expect(inBrush(range, " 0.1 ")).toBe(true);
    expect(inBrush(range, "1e-2")).toBe(true);
    expect(inBrush(range, "0x10")).toBe(false);
    expect(inBrush(range, "adam")).toBe(false);
    expect(inBrush(range, null)).toBe(false);
    expect(inBrush(range, 0.05)).toBe(true);
    expect(inBrush({ key: "params.opt", kind: "in", values: ["adam"] }, "adam")).toBe(true);
    expect(inBrush({ key: "params.opt", kind: "in", values: ["adam"] }, "sgd")).toBe(false);
    expect(inBrush({ key: "metrics.a", kind: "range", min: 2, max: 1 }, 1.5)).toBe(true);
  });

  it("rounds a dragged range outward to a thousandth of the span", () => {
    expect(roundedRange(0.81234, 0.71234, 1)).toEqual({ min: 0.712, max: 0.813 });
    expect(roundedRange(0.30000000000000004, 0.6, 1)).toEqual({ min: 0.3, max: 0.6 });
    expect(roundedRange(1, 2, 0)).toEqual({ min: 1, max: 2 });
  });
});

describe("brushes drawn on an axis", () => {
  const numeric = scaleFor([0, 10, 5]);
  const categorical = scaleFor(["sgd", "adam", "rmsprop"]);

  it("turns a drag on a numeric axis into a value range, either direction", () => {
    expect(brushFromUnits("params.lr", numeric, 0.8, 0.2)).toEqual({ key: "params.lr", kind: "range", min: 2, max: 8 });
    expect(brushFromUnits("params.lr", numeric, -1, 2)).toEqual({ key: "params.lr", kind: "range", min: 0, max: 10 });
  });

  it("turns a drag on a categorical axis into the categories it covers", () => {
    // Sorted categories: adam (0), rmsprop (0.5), sgd (1).
    expect(brushFromUnits("params.opt", categorical, 0.4, 1)).toEqual({ key: "params.opt", kind: "in", values: ["rmsprop", "sgd"] });
    expect(brushFromUnits("params.opt", categorical, 0.2, 0.3)).toBeNull();
  });

  it("places a brush back on its axis", () => {
    expect(brushUnits(numeric, { key: "params.lr", kind: "range", min: 2, max: 8 })).toEqual([0.2, 0.8]);
    expect(brushUnits(numeric, { key: "params.lr", kind: "range", min: -5, max: 50 })).toEqual([0, 1]);
    expect(brushUnits(categorical, { key: "params.opt", kind: "in", values: ["adam"] })).toEqual([0, 0.02]);
    expect(brushUnits(categorical, { key: "params.opt", kind: "in", values: ["gone"] })).toBeNull();
  });

  it("describes a brush in words", () => {
    expect(describeBrush({ key: "params.lr", kind: "range", min: 0.01, max: 0.05 })).toBe("0.01 – 0.05");
    expect(describeBrush({ key: "params.opt", kind: "in", values: ["a", "b", "c", "d", "e", "f"] })).toBe("a, b, c, d and 2 more");
  });
});
