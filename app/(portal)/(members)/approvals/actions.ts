"use server";

import { revalidatePath } from "next/cache";
import { decideApprovalAction as decideInput, deploymentIdAction, requestProductionAction as requestInput } from "@/lib/schemas/deployments";
import { approveRequest, cancelRequest, rejectRequest } from "@/server/approvals/service";
import { safeAction } from "@/server/auth/action";
import { deployModel } from "@/server/approvals/deploy";

/** A team lead approves (the production deployment starts) or rejects a pending request. */
export const decideApprovalAction = safeAction("decideApprovalAction", decideInput, async (ctx, input) => {
  const decided = input.decision === "approve" ? await approveRequest(ctx, input.id, input.comment) : await rejectRequest(ctx, input.id, input.comment);
  revalidatePath("/approvals");
  if (decided.status === "approved") revalidatePath("/deployments");
  return decided.status;
});

/** The requester withdraws a pending request. */
export const withdrawApprovalAction = safeAction("withdrawApprovalAction", deploymentIdAction, async (ctx, input) => {
  const withdrawn = await cancelRequest(ctx, input.id);
  revalidatePath("/approvals");
  return withdrawn.status;
});

/** The version page's production request: nothing deploys until a team lead approves; answers the request's id. */
export const requestProductionDeployAction = safeAction("requestProductionDeployAction", requestInput, async (ctx, input) => {
  const asked = await deployModel(ctx, input.name, {
    team: input.team, version: input.version, environment: "production", replicas: input.replicas, auto_scale: false, traffic: 100, note: input.note,
  });
  if (!("approval_request_id" in asked)) throw new Error("a production deploy answered without an approval request");
  revalidatePath("/approvals");
  return asked.approval_request_id;
});
