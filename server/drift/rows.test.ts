// Reading rows from request bodies: nesting deeper than the sampler reads makes a body unreadable (never a
// stack overflow), at any depth a body within the gateway's 1 MiB can reach.
import { describe, expect, it } from "vitest";
import { inputRows, MAX_DEPTH, rowPredictions } from "./rows";

const nested = (depth: number, leaf: unknown = 1): unknown => JSON.parse(`${"[".repeat(depth)}${JSON.stringify(leaf)}${"]".repeat(depth)}`);

describe("inputRows", () => {
  it("reads a row nested up to the depth limit and nothing deeper", () => {
    expect(inputRows({ instances: [nested(MAX_DEPTH, [1, 2])] }, 20)).toEqual({ rows: [{ "#0": 1, "#1": 2 }], positional: true });
    expect(inputRows({ instances: [nested(MAX_DEPTH + 1, [1, 2])] }, 20)).toEqual({ rows: [], positional: false });
  });

  it("reads a body nested 200,000 levels deep as unreadable instead of overflowing the stack", () => {
    const deep = nested(200_000);
    expect(inputRows({ instances: deep }, 20)).toEqual({ rows: [], positional: false });
    expect(inputRows(deep, 20)).toEqual({ rows: [], positional: false });
    expect(inputRows({ inputs: [{ name: "x", shape: [1, 1], datatype: "FP32", data: deep }] }, 20)).toEqual({ rows: [], positional: false });
    expect(inputRows({ inputs: [{ name: "x", shape: [1], datatype: "FP32", data: deep }] }, 20)).toEqual({ rows: [], positional: false });
    expect(rowPredictions({ predictions: [deep] }, 1)).toEqual([null]);
    expect(rowPredictions({ outputs: [{ name: "p", shape: [1, 2], data: deep }] }, 1)).toEqual([null]);
  });
});
