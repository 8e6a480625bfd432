"use server";

import { revalidatePath } from "next/cache";
import { createExperimentBody } from "@/lib/schemas/experiments";
import { safeAction } from "@/server/auth/action";
import { createExperiment } from "@/server/tracking/experiments";

export const createExperimentAction = safeAction("createExperimentAction", createExperimentBody, async (ctx, input) => {
  const created = await createExperiment(ctx, input);
  revalidatePath("/experiments");
  return created.experiment_id;
});
