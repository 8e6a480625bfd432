import { describe, expect, it } from "vitest";
import { exampleBodies, exampleRows } from "./format";

const SIG = { inputs: [{ name: "features", type: "float32", shape: [-1, 3] }] };

describe("try-it examples", () => {
  it("start from the model's logged input example, in each of MLflow's shapes", () => {
    expect(exampleRows(JSON.stringify({ inputs: [[1, 2, 3], [4, 5, 6]] }))).toEqual([[1, 2, 3], [4, 5, 6]]);
    expect(exampleRows(JSON.stringify({ dataframe_split: { columns: ["a", "b"], data: [[1, true]] } }))).toEqual([[1, 1]]);
    expect(exampleRows(JSON.stringify([[0.5, 1.5]]))).toEqual([[0.5, 1.5]]);
    const bodies = exampleBodies(SIG, JSON.stringify({ inputs: [[12, 70.5, 845], [60, 20, 1200]] }));
    expect(bodies.fromExample).toBe(true);
    expect(JSON.parse(bodies.infer)).toEqual({ inputs: [{ name: "features", shape: [2, 3], datatype: "FP32", data: [12, 70.5, 845, 60, 20, 1200] }] });
    expect(JSON.parse(bodies.invocations)).toEqual({ inputs: [[12, 70.5, 845], [60, 20, 1200]] });
  });

  it("fall back to placeholders of the signature's width, saying so, when the example is missing or not numeric rows", () => {
    for (const example of [null, "not json", JSON.stringify({ inputs: [["a", "b", "c"]] }), JSON.stringify({ inputs: [[1, 2], [1]] })]) {
      const bodies = exampleBodies(SIG, example);
      expect(bodies.fromExample).toBe(false);
      expect(JSON.parse(bodies.invocations).inputs[0]).toHaveLength(3);
    }
  });
});
