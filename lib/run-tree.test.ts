import { describe, expect, it } from "vitest";
import { groupRuns, visibleRows } from "./run-tree";

const run = (run_id: string, parent_run_id: string | null = null) => ({ run_id, parent_run_id });
const ids = (rows: { run: { run_id: string } }[]) => rows.map((r) => r.run.run_id);

describe("groupRuns / visibleRows", () => {
  it("hides children under a collapsed parent and shows how many there are", () => {
    const forest = groupRuns([run("c1", "p"), run("a"), run("p"), run("c2", "p")]);
    const rows = visibleRows(forest, new Set());
    expect(ids(rows)).toEqual(["a", "p"]);
    expect(rows.find((r) => r.run.run_id === "p")).toMatchObject({ childCount: 2, expanded: false, depth: 0 });
    expect(rows.find((r) => r.run.run_id === "a")).toMatchObject({ childCount: 0 });
  });

  it("puts an expanded parent's children right below it, in the page's order", () => {
    const forest = groupRuns([run("p"), run("c2", "p"), run("a"), run("c1", "p")]);
    const rows = visibleRows(forest, new Set(["p"]));
    expect(ids(rows)).toEqual(["p", "c2", "c1", "a"]);
    expect(rows.map((r) => r.depth)).toEqual([0, 1, 1, 0]);
    expect(rows[0]).toMatchObject({ expanded: true });
  });

  it("keeps a child whose parent is not on the page at the top level", () => {
    const rows = visibleRows(groupRuns([run("c1", "elsewhere"), run("a")]), new Set());
    expect(ids(rows)).toEqual(["c1", "a"]);
    expect(rows[0]).toMatchObject({ depth: 0, childCount: 0 });
  });

  it("nests grandchildren, each level expanded on its own", () => {
    const forest = groupRuns([run("p"), run("c", "p"), run("g", "c")]);
    expect(ids(visibleRows(forest, new Set(["p"])))).toEqual(["p", "c"]);
    expect(visibleRows(forest, new Set(["p", "c"])).map((r) => [r.run.run_id, r.depth])).toEqual([["p", 0], ["c", 1], ["g", 2]]);
    // Expanding a child under a collapsed parent shows nothing more.
    expect(ids(visibleRows(forest, new Set(["c"])))).toEqual(["p"]);
  });

  it("never loses a run on a loop of parents", () => {
    const rows = visibleRows(groupRuns([run("x", "y"), run("y", "x"), run("s", "s"), run("k", "x")]), new Set(["x", "y"]));
    expect(new Set(ids(rows))).toEqual(new Set(["x", "y", "s", "k"]));
    expect(rows.find((r) => r.run.run_id === "k")).toMatchObject({ depth: 1 });
  });
});
