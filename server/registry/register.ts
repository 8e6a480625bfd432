// "Register model" from a run's artifacts (the run page, POST /api/v1/runs/{id}/register, `cairn models
// register`): creates the model in the run's team when it does not exist yet, then a version from
// runs:/<run>/<path>. The run is read first, so another team's run is refused before anything is written; a
// model created here is removed again when its first version is refused (no files at the path, the storage
// quota), so a refusal changes nothing.
import { and, eq } from "drizzle-orm";
import { registeredModels } from "@/db/schema";
import { appendAudit } from "../audit/record";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadRun } from "../tracking/access";
import { createRegisteredModel } from "./models";
import { createModelVersion } from "./versions";
import type { ModelVersionDto } from "./dto";

export async function registerFromRun(ctx: Ctx, input: { runId: string; path: string; name: string; description?: string }): Promise<ModelVersionDto> {
  const run = await loadRun(ctx, input.runId, { mode: "read" });
  const team = run.teamSlug;
  const created = await createRegisteredModel(ctx, { name: input.name, team }).then(
    () => true,
    (err: unknown) => {
      if (!(err instanceof AppError && err.code === "conflict")) throw err;
      return false;
    },
  );
  const path = input.path.replace(/^\/+|\/+$/g, "");
  try {
    return await createModelVersion(ctx, { name: input.name, team, source: `runs:/${run.runId}${path ? `/${path}` : ""}`, run_id: run.runId, description: input.description, requireFiles: true });
  } catch (err) {
    if (created) await removeEmptyModel(ctx, input.name, run.teamId, team);
    throw err;
  }
}

/** Undo a model this registration created, unless a version reached it meanwhile (another registration). */
async function removeEmptyModel(ctx: Ctx, name: string, teamId: string, team: string): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    const gone = await tx
      .delete(registeredModels)
      .where(and(eq(registeredModels.teamId, teamId), eq(registeredModels.name, name), eq(registeredModels.lastVersion, 0)))
      .returning({ id: registeredModels.id });
    if (gone.length) await appendAudit(tx, ctx, { action: "model.delete", target: `model:${team}/${name}`, teamId, team, details: { reason: "its first version was refused" } });
  });
}
