// Actors, contexts and tokens for demo users, for tests and benchmarks (no test-runner imports).
import { eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { users } from "@/db/schema";
import type { UserActor } from "../auth/actor";
import { loadUserActor } from "../auth/load-actor";
import type { Ctx } from "../context";
import { newRequestId } from "../context";
import { createToken } from "../tokens/service";

export async function actorFor(db: Db, email: string): Promise<UserActor> {
  const [user] = await db.select({ id: users.id }).from(users).where(eq(users.email, email));
  const actor = user && (await loadUserActor(db, user.id));
  if (!actor) throw new Error(`no demo user ${email}`);
  return actor;
}

export async function ctxFor(db: Db, email: string): Promise<Ctx> {
  return { actor: await actorFor(db, email), db, request: { id: newRequestId(), ip: "127.0.0.1", userAgent: "cairn-test" } };
}

export async function tokenFor(db: Db, email: string, team: string, days = 30): Promise<string> {
  const created = await createToken(await ctxFor(db, email), { name: `test ${email}`, team, expires_in_days: days });
  return created.token;
}
