import { describe, expect, it } from "vitest";
import type { Role } from "@/db/schema";
import type { Actor, UserActor } from "./actor";
import { ANONYMOUS_ACTOR } from "./actor";
import { PERMISSIONS, can, refusalFor } from "./policy";
import type { Permission } from "./policy";

const TEAM = "00000000-0000-4000-8000-000000000001";
const OTHER = "00000000-0000-4000-8000-000000000002";

function member(role: Role): UserActor {
  return {
    kind: "user", userId: "u", email: `${role}@x`, name: role, isAdmin: false,
    memberships: [{ teamId: TEAM, teamSlug: "t", teamName: "T", role }],
  };
}
const admin: UserActor = { kind: "user", userId: "a", email: "admin@x", name: "admin", isAdmin: true, memberships: [] };

// The brief's permission table, written out row by row.
const EXPECTED: Record<Permission, [ds: boolean, mle: boolean, lead: boolean, admin: boolean]> = {
  read_data: [true, true, true, true],
  train_model: [true, true, true, true],
  deploy_staging: [true, true, true, true],
  write_data: [false, true, true, true],
  deploy_production: [false, true, true, true],
  approve_production: [false, false, true, true],
  manage_team: [false, false, true, true],
  manage_platform: [false, false, false, true],
};

describe("policy table", () => {
  it("covers every permission", () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...PERMISSIONS].sort());
  });

  for (const permission of PERMISSIONS) {
    const [ds, mle, lead, adm] = EXPECTED[permission];
    it(`${permission}: data_scientist=${ds} ml_engineer=${mle} team_lead=${lead} admin=${adm}`, () => {
      const team = permission === "manage_platform" ? undefined : TEAM;
      expect(can(member("data_scientist"), permission, team)).toBe(ds);
      expect(can(member("ml_engineer"), permission, team)).toBe(mle);
      expect(can(member("team_lead"), permission, team)).toBe(lead);
      expect(can(admin, permission, team)).toBe(adm);
    });
  }

  it("grants nothing in a team the actor does not belong to", () => {
    for (const permission of PERMISSIONS) expect(can(member("team_lead"), permission, OTHER)).toBe(false);
  });

  it("grants nothing to an anonymous caller", () => {
    for (const permission of PERMISSIONS) expect(can(ANONYMOUS_ACTOR, permission, TEAM)).toBe(false);
  });

  it("limits a member's token to its own team", () => {
    const base = member("team_lead");
    const token: Actor = {
      ...base, kind: "token", tokenId: "t1", tokenTeamId: OTHER, tokenTeamSlug: "other",
      memberships: [...base.memberships, { teamId: OTHER, teamSlug: "other", teamName: "O", role: "data_scientist" }],
    };
    expect(can(token, "manage_team", TEAM)).toBe(false);
    expect(can(token, "read_data", TEAM)).toBe(false);
    expect(can(token, "read_data", OTHER)).toBe(true);
    expect(can(token, "write_data", OTHER)).toBe(false);
  });

  it("keeps an admin token's platform-wide rights", () => {
    const token: Actor = { ...admin, kind: "token", tokenId: "t", tokenTeamId: TEAM, tokenTeamSlug: "t" };
    expect(can(token, "manage_platform")).toBe(true);
    expect(can(token, "read_data", OTHER)).toBe(true);
  });
});

describe("refusalFor: how a refused request answers", () => {
  it("hides another team's object on every verb, and refuses a write in the actor's own team with 403", () => {
    expect(refusalFor(member("data_scientist"), "read", OTHER)).toBe("not_found");
    expect(refusalFor(member("team_lead"), "write", OTHER)).toBe("not_found");
    expect(refusalFor(member("data_scientist"), "write", TEAM)).toBe("forbidden");
    // A token acts in its own team only: its user's other teams are foreign to it.
    const token: Actor = { ...member("team_lead"), kind: "token", tokenId: "t", tokenTeamId: OTHER, tokenTeamSlug: "o" };
    expect(refusalFor(token, "write", TEAM)).toBe("not_found");
    expect(refusalFor(ANONYMOUS_ACTOR, "write", TEAM)).toBe("not_found");
    // Platform-wide writes (no team) are the actor's own scope.
    expect(refusalFor(member("team_lead"), "write")).toBe("forbidden");
  });
});
