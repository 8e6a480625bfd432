// Saved views of the runs table: a user's named filter, sort and columns for one experiment.
import { and, asc, eq } from "drizzle-orm";
import { z } from "zod";
import { savedViews } from "@/db/schema";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadExperiment } from "./access";

export const viewStateSchema = z.strictObject({
  filter: z.string().max(10000).default(""),
  order: z.string().max(500).default(""),
  cols: z.array(z.string().max(260)).max(200).default([]),
});
export type ViewState = z.infer<typeof viewStateSchema>;
export type SavedViewDto = { id: string; name: string; state: ViewState; created_at: string };

function userId(ctx: Ctx): string {
  if (!ctx.actor.userId) throw new AppError("forbidden", "Saved views belong to a user.");
  return ctx.actor.userId;
}

export async function listViews(ctx: Ctx, experimentId: string): Promise<SavedViewDto[]> {
  const exp = await loadExperiment(ctx, experimentId, { mode: "read" });
  const rows = await ctx.db
    .select()
    .from(savedViews)
    .where(and(eq(savedViews.userId, userId(ctx)), eq(savedViews.experimentId, exp.id)))
    .orderBy(asc(savedViews.name));
  return rows.map((r) => ({ id: r.id, name: r.name, state: viewStateSchema.parse(r.state), created_at: r.createdAt.toISOString() }));
}

/** Creates or replaces the user's view with this name. */
export async function saveView(ctx: Ctx, input: { experimentId: string; name: string; state: ViewState }): Promise<SavedViewDto> {
  const exp = await loadExperiment(ctx, input.experimentId, { mode: "read" });
  const name = input.name.trim();
  if (!name || name.length > 100) throw new AppError("invalid_input", "Give the view a name of 1 to 100 characters.", { fields: { name: ["1 to 100 characters"] } });
  const [row] = await ctx.db
    .insert(savedViews)
    .values({ userId: userId(ctx), experimentId: exp.id, name, state: input.state })
    .onConflictDoUpdate({ target: [savedViews.userId, savedViews.experimentId, savedViews.name], set: { state: input.state } })
    .returning();
  return { id: row!.id, name: row!.name, state: input.state, created_at: row!.createdAt.toISOString() };
}

export async function deleteView(ctx: Ctx, id: string): Promise<void> {
  const isUuid = /^[0-9a-f-]{36}$/i.test(id);
  const deleted = isUuid
    ? await ctx.db.delete(savedViews).where(and(eq(savedViews.id, id), eq(savedViews.userId, userId(ctx)))).returning({ id: savedViews.id })
    : [];
  if (deleted.length === 0) throw new AppError("not_found", "That saved view was not found.");
}
