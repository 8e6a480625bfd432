// The signed-in user of a page or server action, read from the database on every request.
import { eq } from "drizzle-orm";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { teams } from "@/db/schema";
import { ALL_TEAMS, resolveTeamScope } from "@/lib/team-scope";
import { getReadyDb } from "../bootstrap";
import type { Ctx } from "../context";
import { newRequestId } from "../context";
import { touchUser } from "../users/activity";
import type { UserActor } from "./actor";
import { resolveSessionActor } from "./request-actor";
import { clientIp } from "./request-info";

export const TEAM_COOKIE = "cairn_team";

/** The page's actor, or null when signed out (or the user no longer exists). One lookup per request. */
export const getPageActor = cache(async (): Promise<UserActor | null> => {
  const jar = await cookies();
  const db = await getReadyDb();
  const actor = await resolveSessionActor(db, new Map(jar.getAll().map((c) => [c.name, c.value])));
  if (actor) await touchUser(db, actor.userId);
  return actor;
});

/** A service context for the current page or server action, or null when signed out. */
export const getPageCtx = cache(async (): Promise<Ctx | null> => {
  const actor = await getPageActor();
  if (!actor) return null;
  const h = await headers();
  return {
    actor,
    db: await getReadyDb(),
    request: { id: h.get("x-request-id") ?? newRequestId(), ip: clientIp(h), userAgent: h.get("user-agent") ?? undefined },
  };
});

/** The team the user works in now: the team-switcher cookie if still a member, else the first team. */
export async function currentTeamSlug(actor: UserActor): Promise<string | undefined> {
  const chosen = (await cookies()).get(TEAM_COOKIE)?.value;
  const slugs = actor.memberships.map((m) => m.teamSlug);
  if (chosen && (slugs.includes(chosen) || actor.isAdmin)) return chosen;
  return slugs[0];
}

/**
 * The team a list page shows (lib/team-scope.ts): ?team=<slug> when the user may read that team, ?team=all
 * (null) for all of theirs, else the team they work in now.
 */
export async function pageTeamScope(ctx: Ctx & { actor: UserActor }, requested: string | undefined): Promise<string | null> {
  const readable = new Set(ctx.actor.memberships.map((m) => m.teamSlug));
  if (ctx.actor.isAdmin && requested && requested !== ALL_TEAMS && !readable.has(requested)) {
    const [found] = await ctx.db.select({ slug: teams.slug }).from(teams).where(eq(teams.slug, requested.slice(0, 64)));
    if (found) readable.add(found.slug);
  }
  return resolveTeamScope(requested, await currentTeamSlug(ctx.actor), (slug) => readable.has(slug));
}

/** For pages: the context, sending signed-out visitors to the login page. */
export async function requirePageCtx(): Promise<Ctx & { actor: UserActor }> {
  const ctx = await getPageCtx();
  if (!ctx) {
    redirect("/login");
  }
  return ctx as Ctx & { actor: UserActor };
}
