"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { safeAction } from "@/server/auth/action";
import { deleteView, saveView, viewStateSchema } from "@/server/tracking/views";

const saveViewInput = z.strictObject({ experimentId: z.string().regex(/^\d+$/), name: z.string(), state: viewStateSchema });

export const saveViewAction = safeAction(saveViewInput, async (ctx, input) => {
  const view = await saveView(ctx, input);
  revalidatePath(`/experiments/${input.experimentId}`);
  return view;
});

export const deleteViewAction = safeAction(z.strictObject({ experimentId: z.string(), id: z.string() }), async (ctx, input) => {
  await deleteView(ctx, input.id);
  revalidatePath(`/experiments/${input.experimentId}`);
  return input.id;
});
