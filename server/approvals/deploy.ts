// POST /api/v1/models/{name}/deploy: the checks every deploy passes (../deployments/prepare.ts), then staging
// deploys at once (a deployment the reconciler brings up) and production asks a team lead (an approval
// request). Approvals build on deployments, never the reverse.
import type { DeployModelInput } from "@/lib/schemas/deployments";
import type { BudgetNote } from "@/lib/schemas/costs";
import type { Ctx } from "../context";
import { checkBudget } from "../costs/budget-service";
import { prepareDeploy } from "../deployments/prepare";
import type { DeployAnswer, StagingAnswer } from "../deployments/service";
import { createStagingDeployment } from "../deployments/service";
import { requestProductionDeploy } from "./service";

type Budgeted = { budget: BudgetNote | null };

/**
 * Staging: a new deployment, status "deploying" until its replicas serve. Production: an approval request a
 * team lead decides (the deploy waits for it).
 */
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput & { environment: "staging" }): Promise<StagingAnswer & Budgeted>;
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput): Promise<DeployAnswer & Budgeted>;
export async function deployModel(ctx: Ctx, name: string, input: DeployModelInput): Promise<DeployAnswer & Budgeted> {
  const prepared = await prepareDeploy(ctx, name, input);
  // A new deploy (staging, or a request for production) passes the team's budget steps; scaling does not come here.
  const budget = await checkBudget(ctx, prepared.team, { action: prepared.environment === "production" ? "approval.request" : "deployment.create", target: `model:${prepared.team.slug}/${prepared.model.name}` });
  if (prepared.environment === "production") return { ...(await requestProductionDeploy(ctx, prepared, input.note ?? "")), budget };
  return { ...(await createStagingDeployment(ctx, prepared)), budget };
}
