import { describe, expect, it } from "vitest";
import { bestSoFar, scaleFor } from "./chart-scales";
import { readChartState, withChartState } from "./chart-state";

describe("chart scales", () => {
  it("makes numbers (also numeric text) a linear scale with round ticks", () => {
    const s = scaleFor(["0.1", 0.5, null, "0.3"]);
    expect(s.kind).toBe("numeric");
    expect(s.toUnit("0.1")).toBe(0);
    expect(s.toUnit(0.5)).toBe(1);
    expect(s.toUnit(null)).toBeNull();
    expect(s.ticks.map((t) => t.label)).toEqual(["0.1", "0.2", "0.3", "0.4", "0.5"]);
  });

  it("spreads categories evenly, sorted naturally", () => {
    const s = scaleFor(["sgd", "adam", "sgd", "rmsprop"]);
    expect(s.kind).toBe("categorical");
    expect(s.kind === "categorical" && s.categories).toEqual(["adam", "rmsprop", "sgd"]);
    expect(s.toUnit("rmsprop")).toBe(0.5);
    expect(scaleFor(["x"]).toUnit("x")).toBe(0.5);
    expect(scaleFor([7, 7]).toUnit(7)).toBe(0.5);
  });

  it("tracks the best objective so far in either direction", () => {
    const trials = [{ number: 2, objective: 0.4 }, { number: 1, objective: 0.5 }, { number: 3, objective: null }, { number: 4, objective: 0.45 }];
    expect(bestSoFar(trials, "minimize").map((t) => t.best)).toEqual([0.5, 0.4, 0.4, 0.4]);
    expect(bestSoFar(trials, "maximize").map((t) => t.best)).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});

describe("chart URL state", () => {
  it("reads defaults, round-trips through the URL and keeps the table's params", () => {
    const d = readChartState({}, { metrics: ["auc", "loss"], params: ["lr", "depth"] });
    expect(d).toEqual({ open: false, metric: "auc", objective: "auc", axes: ["lr", "depth"], x: "params.lr", y: "metrics.auc", brushes: [] });
    const q = withChartState("filter=params.lr+%3E+0&charts=1&cm=old", { ...d, open: true, metric: "loss", axes: ["depth"], x: "attributes.duration" });
    const sp = Object.fromEntries(new URLSearchParams(q));
    expect(sp.filter).toBe("params.lr > 0");
    expect(readChartState(sp, { metrics: [], params: [] })).toEqual({ open: true, metric: "loss", objective: "auc", axes: ["depth"], x: "attributes.duration", y: "metrics.auc", brushes: [] });
    expect(withChartState("charts=1&cm=x&page=2", { ...d, open: false })).toBe("page=2");
    expect(readChartState({ sx: "nonsense" }, { metrics: [], params: [] }).x).toBe("attributes.start_time");
  });

  it("keeps the brushes in the link, also with the panel closed, and refuses an unreadable one in words", () => {
    const d = readChartState({}, { metrics: ["auc"], params: ["lr"] });
    const brushes = [{ key: "metrics.f1 score" as const, kind: "range" as const, min: 0.5, max: 0.75 }, { key: "params.opt" as const, kind: "in" as const, values: ["adam"] }];
    const q = withChartState("filter=params.lr+%3E+0&brush=old", { ...d, open: false, brushes });
    const sp = Object.fromEntries(new URLSearchParams(q));
    expect(sp.brush).toBe("metrics.`f1 score` >= 0.5 AND metrics.`f1 score` <= 0.75 AND params.opt IN ('adam')");
    expect(sp.charts).toBeUndefined();
    expect(readChartState(sp, { metrics: [], params: [] }).brushes).toEqual(brushes);
    expect(withChartState("brush=x&page=2", { ...d, brushes: [] })).toBe("page=2");
    const bad = readChartState({ brush: "metrics.a > 1 OR x" }, { metrics: [], params: [] });
    expect(bad.brushes).toEqual([]);
    expect(bad.brushError).toMatch(/position/);
  });
});
