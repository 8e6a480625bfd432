import { describe, expect, it } from "vitest";
import type { ColumnId } from "./runs-table";
import { insertColumn } from "./runs-table";

describe("insertColumn", () => {
  const cols: ColumnId[] = ["metrics.auc", "metrics.loss", "params.lr", "tags.stage"];

  it("places a new column after the last of its kind", () => {
    expect(insertColumn(cols, "metrics.f1")).toEqual(["metrics.auc", "metrics.loss", "metrics.f1", "params.lr", "tags.stage"]);
    expect(insertColumn(cols, "params.depth")).toEqual(["metrics.auc", "metrics.loss", "params.lr", "params.depth", "tags.stage"]);
    expect(insertColumn(cols, "tags.owner")).toEqual([...cols, "tags.owner"]);
  });

  it("places the first of a kind where its kind belongs: metrics, params, tags", () => {
    expect(insertColumn(["params.lr", "tags.stage"], "metrics.auc")).toEqual(["metrics.auc", "params.lr", "tags.stage"]);
    expect(insertColumn(["metrics.auc", "tags.stage"], "params.lr")).toEqual(["metrics.auc", "params.lr", "tags.stage"]);
    expect(insertColumn([], "tags.x")).toEqual(["tags.x"]);
  });

  it("keeps the user's order of the others and adds nothing twice", () => {
    const mine: ColumnId[] = ["params.b", "metrics.z", "params.a"];
    expect(insertColumn(mine, "params.c")).toEqual(["params.b", "metrics.z", "params.a", "params.c"]);
    expect(insertColumn(mine, "metrics.y")).toEqual(["params.b", "metrics.z", "metrics.y", "params.a"]);
    expect(insertColumn(mine, "params.a")).toEqual(mine);
  });
});
