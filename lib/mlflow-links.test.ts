import { describe, expect, it } from "vitest";
import { mlflowHashToPath } from "./mlflow-links";

const RUN = "0123456789abcdef0123456789abcdef";

describe("mlflowHashToPath", () => {
  it("maps what the mlflow client prints after a run to the run and experiment pages", () => {
    expect(mlflowHashToPath(`#/experiments/16/runs/${RUN}`)).toBe(`/runs/${RUN}`);
    expect(mlflowHashToPath(`#/experiments/16/runs/${RUN.toUpperCase()}/artifacts/model`)).toBe(`/runs/${RUN}`);
    expect(mlflowHashToPath("#/experiments/16")).toBe("/experiments/16");
    expect(mlflowHashToPath("#/experiments/16/s?searchFilter=x")).toBe("/experiments/16");
    expect(mlflowHashToPath("#/experiments")).toBe("/experiments");
  });

  it("maps registry links, encoding the model's name", () => {
    expect(mlflowHashToPath("#/models/churn-classifier/versions/3")).toBe("/models/churn-classifier/versions/3");
    expect(mlflowHashToPath("#/models/my%20model")).toBe("/models/my%20model");
    expect(mlflowHashToPath("#/models")).toBe("/models");
  });

  it("maps a comparison to /compare with only well-formed run ids", () => {
    expect(mlflowHashToPath(`#/compare-runs?runs=${encodeURIComponent(JSON.stringify([RUN, "not-a-run", RUN.replace("0", "f")]))}&experiments=["16"]`))
      .toBe(`/compare?runs=${RUN},${RUN.replace("0", "f")}`);
    expect(mlflowHashToPath("#/compare-runs?runs=not-json")).toBeNull();
  });

  it("ignores what is not an MLflow route, and never leaves the site", () => {
    expect(mlflowHashToPath("")).toBeNull();
    expect(mlflowHashToPath("#main")).toBeNull();
    expect(mlflowHashToPath("#/experiments/abc/runs/x")).toBeNull();
    expect(mlflowHashToPath("#//evil.example/experiments/1")).toBeNull();
    expect(mlflowHashToPath("#/models/%E0%A4%A")).toBeNull();
    for (const hash of ["#/models/..%2F..%2Fadmin", "#/models/a%2Fb/versions/1"]) {
      expect(mlflowHashToPath(hash)).toMatch(/^\/models\/[^/]+(\/versions\/\d+)?$/);
    }
  });
});
