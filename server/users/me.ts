import type { MeDto } from "@/lib/schemas/me";
import type { Ctx } from "../context";
import { AppError } from "../errors";

export function getMe(ctx: Ctx): MeDto {
  const { actor } = ctx;
  if (actor.kind !== "user" && actor.kind !== "token") throw new AppError("unauthenticated", "Sign in or send an API token.");
  const teams = actor.memberships
    .filter((m) => actor.kind !== "token" || m.teamId === actor.tokenTeamId)
    .map((m) => ({ slug: m.teamSlug, name: m.teamName, role: m.role }));
  return {
    user: { id: actor.userId, email: actor.email, name: actor.name, is_admin: actor.isAdmin },
    teams,
    ...(actor.kind === "token" ? { token: { id: actor.tokenId, team: actor.tokenTeamSlug } } : {}),
  };
}
