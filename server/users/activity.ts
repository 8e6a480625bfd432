// Marks users active (for platform_active_users), at most once a minute per user and process.
import { eq } from "drizzle-orm";
import type { Db } from "@/db/client";
import { users } from "@/db/schema";

const lastTouched = new Map<string, number>();
const RESOLUTION_MS = 60_000;

export async function touchUser(db: Db, userId: string): Promise<void> {
  const now = Date.now();
  if (now - (lastTouched.get(userId) ?? 0) < RESOLUTION_MS) return;
  lastTouched.set(userId, now);
  await db.update(users).set({ lastActiveAt: new Date(now) }).where(eq(users.id, userId));
}
