"use server";

import { revalidatePath } from "next/cache";
import { deploymentIdAction, deployVersionAction as deployVersionInput, tryDeploymentAction as tryInput } from "@/lib/schemas/deployments";
import { safeAction } from "@/server/auth/action";
import { tryInference } from "@/server/deployments/gateway";
import { rollbackDeployment } from "@/server/deployments/rollback";
import { deployModel } from "@/server/approvals/deploy";
import { stopDeployment } from "@/server/deployments/service";

export const stopDeploymentAction = safeAction(deploymentIdAction, async (ctx, input) => {
  await stopDeployment(ctx, input.id);
  revalidatePath("/deployments");
  return "stopped";
});

export const rollbackDeploymentAction = safeAction(deploymentIdAction, async (ctx, input) => {
  const next = await rollbackDeployment(ctx, input.id);
  revalidatePath("/deployments");
  return next.deployment_id;
});

export const tryDeploymentAction = safeAction(tryInput, (ctx, input) => tryInference(ctx, input.id, input.endpoint, input.body));

/** The version page's deploy form: staging, a fixed number of replicas. */
export const deployVersionAction = safeAction(deployVersionInput, async (ctx, input) => {
  const deployed = await deployModel(ctx, input.name, { team: input.team, version: input.version, environment: "staging", replicas: input.replicas, auto_scale: false, traffic: 100 });
  revalidatePath("/deployments");
  return deployed.deployment_id;
});
