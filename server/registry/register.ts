// "Register model" from a run's artifacts (the run page): creates the model in the run's team when it
// does not exist yet, then a version from runs:/<run>/<path>.
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadRun } from "../tracking/access";
import { createRegisteredModel } from "./models";
import { createModelVersion } from "./versions";
import type { ModelVersionDto } from "./dto";

export async function registerFromRun(ctx: Ctx, input: { runId: string; path: string; name: string }): Promise<ModelVersionDto> {
  const run = await loadRun(ctx, input.runId, { mode: "read" });
  const team = run.teamSlug;
  await createRegisteredModel(ctx, { name: input.name, team }).catch((err: unknown) => {
    if (!(err instanceof AppError && err.code === "conflict")) throw err;
  });
  const path = input.path.replace(/^\/+|\/+$/g, "");
  return createModelVersion(ctx, { name: input.name, team, source: `runs:/${run.runId}${path ? `/${path}` : ""}`, run_id: run.runId });
}
