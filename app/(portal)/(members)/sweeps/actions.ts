"use server";

import { revalidatePath } from "next/cache";
import { sweepControlAction, sweepFormAction, sweepRegisterAction } from "@/lib/schemas/sweeps";
import { safeAction } from "@/server/auth/action";
import { controlSweep, createSweep, registerBestTrial } from "@/server/sweeps/service";

export const createSweepAction = safeAction("createSweepAction", sweepFormAction, async (ctx, input) => {
  const sweep = await createSweep(ctx, input.experimentId, input.spec);
  revalidatePath(`/experiments/${input.experimentId}`);
  return sweep.sweep_id;
});

export const controlSweepAction = safeAction("controlSweepAction", sweepControlAction, async (ctx, input) => {
  const sweep = await controlSweep(ctx, input.id, input.action);
  revalidatePath(`/sweeps/${input.id}`);
  return sweep.state;
});

export const registerBestTrialAction = safeAction("registerBestTrialAction", sweepRegisterAction, async (ctx, input) => {
  const { version } = await registerBestTrial(ctx, input.id, { name: input.name, path: "model" });
  revalidatePath(`/sweeps/${input.id}`);
  return { name: version.name, version: version.version };
});
