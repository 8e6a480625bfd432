import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { describe, expect, it } from "vitest";
import type { RunRow } from "./runs-table";
import { RunsTable } from "./runs-table";

const run = (run_id: string, score: number, parent_run_id: string | null = null): RunRow => ({
  run_id, run_name: `name-${run_id}`, status: "FINISHED", start_time: 0, end_time: 1000, user_id: "ds@example.com",
  parent_run_id, lifecycle_stage: "active", params: {}, metrics: { score }, tags: {},
});

function render(runs: RunRow[]): string {
  return renderToStaticMarkup(createElement(RunsTable, {
    runs, cols: ["metrics.score"], order: "", selected: new Set<string>(), onToggle: () => {}, onToggleAll: () => {}, onSort: () => {},
  }));
}

describe("RunsTable", () => {
  it("folds a parent's children behind a collapsed toggle that counts them", () => {
    const html = render([run("c1", 0.5, "p"), run("p", 0.9), run("c2", 0.25, "p"), run("orphan", 0.75, "gone")]);
    expect(html).toContain('aria-expanded="false"');
    expect(html).toContain('aria-label="Child runs of name-p (2)"');
    expect(html).not.toContain("name-c1");
    expect(html).not.toContain("name-c2");
    // A child whose parent is not on the page stays in view.
    expect(html).toContain("name-orphan");
  });

  it("shows a metric column at one precision with the full value as its title", () => {
    const html = render([run("a", 0.9), run("b", 0.123456), run("c", 2)]);
    const cells = [...html.matchAll(/<td title="([^"]+)"[^>]*>([^<]+)<\/td>/g)].map((m) => [m[1], m[2]]);
    expect(cells).toEqual([["0.9", "0.9000"], ["0.123456", "0.1235"], ["2", "2.0000"]]);
  });
});
