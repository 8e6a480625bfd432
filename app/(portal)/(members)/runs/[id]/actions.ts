"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { registerFromRunAction } from "@/lib/schemas/registry";
import { safeAction } from "@/server/auth/action";
import { registerFromRun } from "@/server/registry/register";
import { setRunTag } from "@/server/tracking/runs";

// MLflow keeps run notes in the mlflow.note.content tag; so does Cairn, so its UI and MLflow's agree.
export const saveNotesAction = safeAction("saveNotesAction", z.strictObject({ target: z.string(), text: z.string().max(8000, "Notes are limited to 8,000 characters") }), async (ctx, input) => {
  await setRunTag(ctx, input.target, "mlflow.note.content", input.text);
  revalidatePath(`/runs/${input.target}`);
  return input.target;
});

export const registerModelAction = safeAction("registerModelAction", registerFromRunAction, async (ctx, input) => {
  const version = await registerFromRun(ctx, input);
  revalidatePath("/models");
  return { name: version.name, version: version.version, team: version.team };
});
