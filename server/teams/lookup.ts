import { and, eq, isNull } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { teams } from "@/db/schema";

export type TeamRef = { id: string; slug: string; name: string; namespace: string; createdAt: Date };

export async function findTeamBySlug(db: DbOrTx, slug: string): Promise<TeamRef | undefined> {
  const [team] = await db
    .select({ id: teams.id, slug: teams.slug, name: teams.name, namespace: teams.namespace, createdAt: teams.createdAt })
    .from(teams)
    .where(and(eq(teams.slug, slug), isNull(teams.archivedAt)));
  return team;
}
