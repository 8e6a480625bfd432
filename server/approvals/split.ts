// POST /api/v1/deployments/{id}/split: the checks every split passes (../deployments/split.ts), then staging
// starts it at once and production asks a team lead — an approval request whose spec and evidence hold the
// split (candidate version, weight, stickiness, abort thresholds), started exactly so when approved.
import type { SplitDto, StartSplitInput } from "@/lib/schemas/splits";
import type { BudgetNote } from "@/lib/schemas/costs";
import type { Ctx } from "../context";
import { checkBudget } from "../costs/budget-service";
import { AppError } from "../errors";
import { createSplit, prepareSplit } from "../deployments/split";
import { requestProductionDeploy } from "./service";

export type StartSplitAnswer = ({ split: SplitDto } | { approval_request_id: string; status: "pending_approval" }) & { budget: BudgetNote | null };

export async function startSplit(ctx: Ctx, id: string, input: StartSplitInput): Promise<StartSplitAnswer> {
  const prepared = await prepareSplit(ctx, id, input);
  // A split brings a candidate deployment up: a new deploy for the team's budget steps.
  const production = prepared.baseline.environment === "production";
  const budget = await checkBudget(ctx, prepared.candidate.team, { action: production ? "approval.request" : "deployment.split.start", target: `deployment:${prepared.candidate.team.slug}/${id}` });
  if (production) {
    const note = input.note ?? `Traffic split: version ${prepared.candidate.version.number} beside version ${prepared.baseline.version} at ${input.weight} %`;
    return { ...(await requestProductionDeploy(ctx, prepared.candidate, note, prepared.spec)), budget };
  }
  if (input.note !== undefined) {
    // Staging splits start at once: nobody reads a note.
    throw new AppError("invalid_input", "a note goes with a production split request (staging splits start at once)", { fields: { note: ["only for production"] } });
  }
  return { split: await createSplit(ctx, prepared), budget };
}
