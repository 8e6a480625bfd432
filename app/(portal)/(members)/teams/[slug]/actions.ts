"use server";

import { revalidatePath } from "next/cache";
import { protectedAliasesSchema } from "@/lib/schemas/registry";
import { safeAction } from "@/server/auth/action";
import { setProtectedAliases } from "@/server/registry/models";

export const saveProtectedAliases = safeAction(protectedAliasesSchema, async (ctx, input) => {
  const saved = await setProtectedAliases(ctx, input.protected_aliases, input.team);
  revalidatePath(`/teams/${input.team}`);
  return saved.protected_aliases;
});
