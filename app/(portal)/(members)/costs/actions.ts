"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { budgetExtensionSchema } from "@/lib/schemas/costs";
import { safeAction } from "@/server/auth/action";
import { grantBudgetExtension } from "@/server/costs/budget-service";

/** The Costs page's extension form: a team lead raises this month's approval line (the same service as the API). */
export const grantBudgetExtensionAction = safeAction("grantBudgetExtensionAction", budgetExtensionSchema.extend({ team: z.string().min(1).max(64) }), async (ctx, { team, ...input }) => {
  const granted = await grantBudgetExtension(ctx, team, input);
  revalidatePath("/costs");
  revalidatePath(`/teams/${team}`);
  return granted;
});
