// Whose audit rows an actor may read: admins every team's, team leads their own teams'.
import { can } from "../auth/policy";
import type { Ctx } from "../context";

/** Team ids whose audit rows the actor may read; undefined = all (admins). */
export function auditableTeams(ctx: Ctx): string[] | undefined {
  if (ctx.actor.isAdmin) return undefined;
  return ctx.actor.memberships.filter((m) => can(ctx.actor, "manage_team", m.teamId)).map((m) => m.teamId);
}

export function canViewAudit(ctx: Ctx): boolean {
  const teams = auditableTeams(ctx);
  return teams === undefined || teams.length > 0;
}
