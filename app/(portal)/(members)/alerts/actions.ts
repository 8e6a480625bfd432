"use server";

import { revalidatePath } from "next/cache";
import { alertIdAction, createAlertRuleAction as createInput, silenceAlertRuleAction as silenceInput } from "@/lib/schemas/alerts";
import { acknowledgeAlert, createAlertRule, deleteAlertRule, silenceAlertRule } from "@/server/alerts/service";
import { safeAction } from "@/server/auth/action";

/** The Alerts page's form: a rule stored for the team (ML engineers and team leads); answers its id. */
export const createAlertRuleAction = safeAction("createAlertRuleAction", createInput, async (ctx, input) => {
  const rule = await createAlertRule(ctx, input);
  revalidatePath("/alerts");
  return rule.id;
});

export const deleteAlertRuleAction = safeAction("deleteAlertRuleAction", alertIdAction, async (ctx, input) => {
  await deleteAlertRule(ctx, input.id);
  revalidatePath("/alerts");
  return input.id;
});

/** Mutes a rule until a time, or lifts the silence (until: null). */
export const silenceAlertRuleAction = safeAction("silenceAlertRuleAction", silenceInput, async (ctx, input) => {
  const rule = await silenceAlertRule(ctx, input.id, { until: input.until });
  revalidatePath("/alerts");
  return rule.silenced_until;
});

/** Someone is on it: no more repeat notifications for this firing. */
export const acknowledgeAlertAction = safeAction("acknowledgeAlertAction", alertIdAction, async (ctx, input) => {
  const alert = await acknowledgeAlert(ctx, input.id);
  revalidatePath("/alerts");
  return alert.acknowledged_at;
});
