"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { createTokenSchema } from "@/lib/schemas/tokens";
import { safeAction } from "@/server/auth/action";
import { createToken, revokeToken } from "@/server/tokens/service";

export const createTokenAction = safeAction("createTokenAction", createTokenSchema, async (ctx, input) => {
  const created = await createToken(ctx, input);
  revalidatePath("/settings/tokens");
  return created;
});

export const revokeTokenAction = safeAction("revokeTokenAction", z.string().uuid("Not a token id"), async (ctx, id) => {
  await revokeToken(ctx, id);
  revalidatePath("/settings/tokens");
  return id;
});
