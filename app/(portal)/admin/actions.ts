"use server";

import { revalidatePath } from "next/cache";
import { createTeamSchema } from "@/lib/schemas/teams";
import { safeAction } from "@/server/auth/action";
import { createTeam } from "@/server/teams/service";

// Re-checks the caller: a data scientist posting this action directly gets 403 and nothing changes.
export const createTeamAction = safeAction(createTeamSchema, async (ctx, input) => {
  const team = await createTeam(ctx, input);
  revalidatePath("/admin");
  revalidatePath("/teams");
  return team.slug;
});
