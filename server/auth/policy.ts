// The one place roles map to permissions (ARCHITECTURE.md "Roles and permissions").
import type { Role } from "@/db/schema";
import type { Actor } from "./actor";

export const PERMISSIONS = [
  "read_data",
  "train_model",
  "deploy_staging",
  "write_data",
  "deploy_production",
  "approve_production",
  "manage_team",
  "manage_platform",
] as const;
export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  data_scientist: new Set(["read_data", "train_model", "deploy_staging"]),
  ml_engineer: new Set(["read_data", "train_model", "deploy_staging", "write_data", "deploy_production"]),
  team_lead: new Set([
    "read_data", "train_model", "deploy_staging", "write_data", "deploy_production", "approve_production", "manage_team",
  ]),
};

/** Permissions a platform admin holds in every team. */
export const ADMIN_PERMISSIONS: ReadonlySet<Permission> = new Set(PERMISSIONS);

/** The actor's role in a team, honouring a token's team scope. Admins have no role unless they are members. */
export function roleIn(actor: Actor, teamId: string): Role | undefined {
  if (actor.kind === "token" && actor.tokenTeamId !== teamId) return undefined;
  return actor.memberships.find((m) => m.teamId === teamId)?.role;
}

/**
 * May the actor use `permission` in `teamId`? Platform-wide permissions (manage_platform) take no team.
 * A member's token acts only in its own team; an admin's token keeps the admin's platform-wide rights.
 */
export function can(actor: Actor, permission: Permission, teamId?: string): boolean {
  if (actor.isAdmin) return true;
  if (permission === "manage_platform" || teamId === undefined) return false;
  const role = roleIn(actor, teamId);
  return role !== undefined && ROLE_PERMISSIONS[role].has(permission);
}

export type RefusalCode = "not_found" | "forbidden";

/**
 * How a refused request answers (API.md "Access"). Anything about another team's object — a read or a
 * write — is "not_found", so the object's existence is not revealed; within a team the actor can see
 * (or for a platform-wide action, `teamId` absent) a write the role does not allow is "forbidden".
 * Callers pass `mode: "read"` when the object's team is unknown (a missing object or team).
 */
export function refusalFor(actor: Actor, mode: "read" | "write", teamId?: string | null): RefusalCode {
  if (mode === "read") return "not_found";
  return teamId && !can(actor, "read_data", teamId) ? "not_found" : "forbidden";
}

/** Teams whose data the actor may read (undefined = all teams, for admins). */
export function readableTeamIds(actor: Actor): string[] | undefined {
  if (actor.isAdmin) return undefined;
  return actor.memberships
    .filter((m) => actor.kind !== "token" || m.teamId === actor.tokenTeamId)
    .map((m) => m.teamId);
}
