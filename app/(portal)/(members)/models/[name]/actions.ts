"use server";

import { revalidatePath } from "next/cache";
import * as r from "@/lib/schemas/registry";
import { safeAction } from "@/server/auth/action";
import { deleteAlias, setAlias } from "@/server/registry/aliases";
import { updateRegisteredModel } from "@/server/registry/models";
import { transitionStage, updateModelVersion } from "@/server/registry/versions";

const refresh = (name: string) => revalidatePath(`/models/${encodeURIComponent(name)}`, "layout");

export const describeModel = safeAction("describeModel", r.describeModelAction, async (ctx, { target, text }) => {
  await updateRegisteredModel(ctx, target.name, text, { team: target.team });
  refresh(target.name);
  return target.name;
});

export const describeVersion = safeAction("describeVersion", r.describeVersionAction, async (ctx, { target, text }) => {
  await updateModelVersion(ctx, target.name, target.version, text, { team: target.team });
  refresh(target.name);
  return target.version;
});

export const setAliasAction = safeAction("setAliasAction", r.setAliasAction, async (ctx, input) => {
  await setAlias(ctx, input);
  refresh(input.name);
  return input.alias;
});

export const deleteAliasAction = safeAction("deleteAliasAction", r.deleteAliasAction, async (ctx, input) => {
  await deleteAlias(ctx, input);
  refresh(input.name);
  return input.alias;
});

export const setStageAction = safeAction("setStageAction", r.stageAction, async (ctx, input) => {
  await transitionStage(ctx, input);
  refresh(input.name);
  return input.stage;
});
