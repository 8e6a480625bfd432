"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { safeAction } from "@/server/auth/action";
import { setExperimentLifecycle } from "@/server/tracking/experiments";
import { deleteView, saveView, viewStateSchema } from "@/server/tracking/views";

const saveViewInput = z.strictObject({ experimentId: z.string().regex(/^\d+$/), name: z.string(), state: viewStateSchema });

export const saveViewAction = safeAction("saveViewAction", saveViewInput, async (ctx, input) => {
  const view = await saveView(ctx, input);
  revalidatePath(`/experiments/${input.experimentId}`);
  return view;
});

export const deleteViewAction = safeAction("deleteViewAction", z.strictObject({ experimentId: z.string(), id: z.string() }), async (ctx, input) => {
  await deleteView(ctx, input.id);
  revalidatePath(`/experiments/${input.experimentId}`);
  return input.id;
});

const lifecycleInput = z.strictObject({ experimentId: z.string().regex(/^\d+$/), stage: z.enum(["active", "deleted"]) });

// Archive (MLflow's delete) or restore; needs write_data (ML engineers, team leads).
export const setExperimentLifecycleAction = safeAction("setExperimentLifecycleAction", lifecycleInput, async (ctx, input) => {
  await setExperimentLifecycle(ctx, input.experimentId, input.stage);
  revalidatePath(`/experiments/${input.experimentId}`);
  revalidatePath("/experiments");
  return input.stage;
});
