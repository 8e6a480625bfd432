"use server";

import { revalidatePath } from "next/cache";
import { deploymentIdAction, deployVersionAction as deployVersionInput, tryDeploymentAction as tryInput } from "@/lib/schemas/deployments";
import { safeAction } from "@/server/auth/action";
import { tryInference } from "@/server/deployments/gateway";
import { rollbackDeployment } from "@/server/deployments/rollback";
import { deployModel } from "@/server/approvals/deploy";
import { stopDeployment } from "@/server/deployments/service";
import { startSplitAction as startSplitInput } from "@/lib/schemas/splits";
import { startSplit } from "@/server/approvals/split";
import { abortSplit, promoteSplit } from "@/server/deployments/split";
import { samplingAction as samplingInput } from "@/lib/schemas/drift";
import { setSampleRate } from "@/server/drift/service";

export const stopDeploymentAction = safeAction("stopDeploymentAction", deploymentIdAction, async (ctx, input) => {
  await stopDeployment(ctx, input.id);
  revalidatePath("/deployments");
  return "stopped";
});

export const rollbackDeploymentAction = safeAction("rollbackDeploymentAction", deploymentIdAction, async (ctx, input) => {
  const next = await rollbackDeployment(ctx, input.id);
  revalidatePath("/deployments");
  return next.deployment_id;
});

export const tryDeploymentAction = safeAction("tryDeploymentAction", tryInput, (ctx, input) => tryInference(ctx, input.id, input.endpoint, input.body));

/** The version page's deploy form: staging, a fixed number of replicas. */
export const deployVersionAction = safeAction("deployVersionAction", deployVersionInput, async (ctx, input) => {
  const deployed = await deployModel(ctx, input.name, { team: input.team, version: input.version, environment: "staging", replicas: input.replicas, auto_scale: false, traffic: 100 });
  revalidatePath("/deployments");
  return deployed.deployment_id;
});

/** The deployment page's "Traffic split" form: staging starts at once, production asks a team lead. */
export const startSplitAction = safeAction("startSplitAction", startSplitInput, async (ctx, input) => {
  const answer = await startSplit(ctx, input.id, {
    version: input.version, weight: input.weight, sticky: input.sticky, replicas: 1, note: input.note,
    abort: { error_share_points: input.error_share_points, p99_ms: input.p99_ms, min_requests: input.min_requests },
  });
  revalidatePath(`/deployments/${input.id}`);
  return "approval_request_id" in answer ? { approval_request_id: answer.approval_request_id } : { split_id: answer.split.split_id };
});

export const promoteSplitAction = safeAction("promoteSplitAction", deploymentIdAction, async (ctx, input) => {
  const split = await promoteSplit(ctx, input.id);
  revalidatePath("/deployments");
  return split.candidate.deployment_id;
});

export const abortSplitAction = safeAction("abortSplitAction", deploymentIdAction, async (ctx, input) => {
  await abortSplit(ctx, input.id);
  revalidatePath(`/deployments/${input.id}`);
  return "aborted";
});

/** The deployment page's Monitoring section: the share of requests sampled for drift monitoring. */
export const setSampleRateAction = safeAction("setSampleRateAction", samplingInput, async (ctx, input) => {
  const set = await setSampleRate(ctx, input.id, { sample_rate: input.sample_rate });
  revalidatePath(`/deployments/${input.id}`);
  return set.sample_rate;
});
