"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { safeAction } from "@/server/auth/action";
import { setRunTag } from "@/server/tracking/runs";

// MLflow keeps run notes in the mlflow.note.content tag; so does Cairn, so its UI and MLflow's agree.
export const saveNotesAction = safeAction(z.strictObject({ runId: z.string(), notes: z.string().max(8000, "Notes are limited to 8,000 characters") }), async (ctx, input) => {
  await setRunTag(ctx, input.runId, "mlflow.note.content", input.notes);
  revalidatePath(`/runs/${input.runId}`);
  return input.runId;
});
