"use server";

import { cookies } from "next/headers";
import { z } from "zod";
import { safeAction } from "@/server/auth/action";
import { TEAM_COOKIE } from "@/server/auth/session";
import { getTeam } from "@/server/teams/service";

// Switch the team the portal works in (the user must be able to read it).
export const switchTeam = safeAction("switchTeam", z.string().trim().min(1), async (ctx, slug) => {
  const team = await getTeam(ctx, slug);
  (await cookies()).set(TEAM_COOKIE, team.slug, { path: "/", maxAge: 31_536_000, sameSite: "lax", httpOnly: true });
  return team.slug;
});
