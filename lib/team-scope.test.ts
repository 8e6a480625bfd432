import { describe, expect, it } from "vitest";
import { resolveTeamScope, scopedHref, scopedSection } from "./team-scope";

const member = (slug: string) => ["churn", "fraud"].includes(slug);

describe("team scope", () => {
  it("follows the URL when the user may read that team, else the team they work in", () => {
    expect(resolveTeamScope("fraud", "churn", member)).toBe("fraud");
    expect(resolveTeamScope(undefined, "churn", member)).toBe("churn");
    expect(resolveTeamScope("vision", "churn", member)).toBe("churn"); // not theirs: not revealed, not shown
    expect(resolveTeamScope("all", "churn", member)).toBeNull();
    expect(resolveTeamScope(undefined, undefined, member)).toBeNull(); // no team yet
  });

  it("knows which list a page belongs to", () => {
    expect(scopedSection("/experiments")).toBe("/experiments");
    expect(scopedSection("/experiments/16")).toBe("/experiments");
    expect(scopedSection("/runs/abc")).toBe("/experiments");
    expect(scopedSection("/models/churn-classifier/versions/3")).toBe("/models");
    expect(scopedSection("/teams/churn")).toBeNull();
    expect(scopedSection("/")).toBeNull();
    expect(scopedSection("/jobsx")).toBeNull();
  });

  it("writes the scope into the address, keeping the other parameters", () => {
    expect(scopedHref("/jobs", "status=failed&team=churn", "fraud")).toBe("/jobs?status=failed&team=fraud");
    expect(scopedHref("/jobs", "", null)).toBe("/jobs?team=all");
  });
});
