// Builds an actor from the database on every request: memberships are never cached in the session.
import { and, eq, isNull } from "drizzle-orm";
import type { Db } from "@/db/client";
import { memberships, teams, users } from "@/db/schema";
import type { ActorMembership, UserActor } from "./actor";

export async function loadMemberships(db: Db, userId: string): Promise<ActorMembership[]> {
  const rows = await db
    .select({ teamId: teams.id, teamSlug: teams.slug, teamName: teams.name, role: memberships.role })
    .from(memberships)
    .innerJoin(teams, eq(teams.id, memberships.teamId))
    .where(and(eq(memberships.userId, userId), isNull(teams.archivedAt)))
    .orderBy(teams.slug);
  return rows;
}

export async function loadUserActor(db: Db, userId: string): Promise<UserActor | null> {
  if (!/^[0-9a-f-]{36}$/i.test(userId)) return null;
  const [user] = await db
    .select({ id: users.id, email: users.email, name: users.name, isAdmin: users.isAdmin })
    .from(users)
    .where(and(eq(users.id, userId), isNull(users.deactivatedAt)));
  // A deactivated user acts as nobody: their live sessions stop on the next request.
  if (!user) return null;
  return {
    kind: "user",
    userId: user.id,
    email: user.email,
    name: user.name,
    isAdmin: user.isAdmin,
    memberships: await loadMemberships(db, user.id),
  };
}
