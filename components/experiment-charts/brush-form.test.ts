import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import { BrushForm } from "./brush-form";

const render = (props: Parameters<typeof BrushForm>[0]) => renderToStaticMarkup(createElement(BrushForm, props));

describe("BrushForm (the keyboard way to brush)", () => {
  it("offers From/To boxes for a numeric key, filled with its brush, and leaves out keys a search cannot test", () => {
    const html = render({
      axes: [{ key: "params.lr", values: ["0.01", "0.1", null] }, { key: "attributes.duration", values: [3, 4] }, { key: "metrics.auc", values: [null, null] }],
      brushes: [{ key: "params.lr", kind: "range", min: 0.02, max: 0.05 }],
      onBrush: () => {},
    });
    expect(html).toContain('aria-label="Key to brush"');
    expect(html).toContain('<option value="params.lr" selected="">params.lr</option>');
    expect(html).not.toContain("attributes.duration");
    expect(html).not.toContain("metrics.auc");
    expect(html).toMatch(/aria-label="params.lr from"[^>]*value="0.02"/);
    expect(html).toMatch(/aria-label="params.lr to"[^>]*value="0.05"/);
    expect(html).toContain("Clear this brush");
  });

  it("offers a checkbox per category, ticked where the brush holds it", () => {
    const html = render({ axes: [{ key: "params.opt", values: ["sgd", "adam", "sgd"] }], brushes: [{ key: "params.opt", kind: "in", values: ["adam"] }], onBrush: () => {} });
    expect(html).toContain('<input type="checkbox" name="value" checked="" value="adam"/>');
    expect(html).toContain('<input type="checkbox" name="value" value="sgd"/>');
  });

  it("renders nothing when no key can be brushed", () => {
    expect(render({ axes: [{ key: "attributes.duration", values: [1] }], brushes: [], onBrush: () => {} })).toBe("");
  });
});
