// POST /api/v1/models/{name}/deploy: the checks every deploy passes (../deployments/prepare.ts), then staging
// deploys at once (a deployment the reconciler brings up) and production asks a team lead (an approval
// request). Approvals build on deployments, never the reverse.
import type { DeployModelInput } from "@/lib/schemas/deployments";
import type { Ctx } from "../context";
import { prepareDeploy } from "../deployments/prepare";
import type { DeployAnswer, StagingAnswer } from "../deployments/service";
import { createStagingDeployment } from "../deployments/service";
import { requestProductionDeploy } from "./service";

/**
 * Staging: a new deployment, status "deploying" until its replicas serve. Production: an approval request a
 * team lead decides (the deploy waits for it).
 */
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput & { environment: "staging" }): Promise<StagingAnswer>;
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput): Promise<DeployAnswer>;
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput): Promise<DeployAnswer> {
  const prepared = await prepareDeploy(ctx, name, input);
  if (prepared.environment === "production") return requestProductionDeploy(ctx, prepared, input.note ?? "");
  return createStagingDeployment(ctx, prepared);
}
