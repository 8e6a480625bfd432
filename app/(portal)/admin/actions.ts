"use server";

import { instanceTypeNameSchema, instanceTypeSchema } from "@/lib/schemas/instance-types";
import { deleteInstanceType, saveInstanceType } from "@/server/teams/instance-types";
import { revalidatePath } from "next/cache";
import { z } from "zod";
import { createTeamSchema, teamSlugSchema } from "@/lib/schemas/teams";
import { safeAction } from "@/server/auth/action";
import { archiveTeam, restoreTeam } from "@/server/teams/admin";
import { createTeam } from "@/server/teams/service";
import { setUserActiveSchema } from "@/lib/schemas/users";
import { setUserActive } from "@/server/users/admin";
import { resourcePriceSchema } from "@/lib/schemas/costs";
import { saveResourcePrice } from "@/server/costs/resource-prices";

// Re-checks the caller: a data scientist posting this action directly gets 403 and nothing changes.
export const createTeamAction = safeAction("createTeamAction", createTeamSchema, async (ctx, input) => {
  const team = await createTeam(ctx, input);
  revalidatePath("/admin");
  revalidatePath("/teams");
  return { slug: team.slug, name: team.name };
});

export const setTeamArchivedAction = safeAction("setTeamArchivedAction", z.strictObject({ slug: teamSlugSchema, archived: z.boolean() }), async (ctx, input) => {
  if (input.archived) await archiveTeam(ctx, input.slug);
  else await restoreTeam(ctx, input.slug);
  revalidatePath("/admin");
  revalidatePath("/teams");
  return input.archived;
});

export const saveInstanceTypeAction = safeAction("saveInstanceTypeAction", z.strictObject({ name: instanceTypeNameSchema, type: instanceTypeSchema }), async (ctx, input) => {
  const saved = await saveInstanceType(ctx, input.name, input.type);
  revalidatePath("/admin");
  return saved.name;
});

export const deleteInstanceTypeAction = safeAction("deleteInstanceTypeAction", z.strictObject({ name: instanceTypeNameSchema }), async (ctx, input) => {
  await deleteInstanceType(ctx, input.name);
  revalidatePath("/admin");
  return input.name;
});

// Deactivate or reactivate a user (admins); the service revokes their sessions and tokens in the same transaction.
export const setUserActiveAction = safeAction("setUserActiveAction", setUserActiveSchema, async (ctx, input) => {
  const result = await setUserActive(ctx, input);
  revalidatePath("/admin/users");
  return result;
});

// Set a resource kind's price (CPU, memory, GPU by type, storage): admins only; applies to time metered from now on.
export const saveResourcePriceAction = safeAction("saveResourcePriceAction", resourcePriceSchema, async (ctx, input) => {
  const saved = await saveResourcePrice(ctx, input);
  revalidatePath("/admin");
  revalidatePath("/costs");
  return saved;
});
