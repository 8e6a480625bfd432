// Cost queries (GET /api/v1/costs, the costs page).
import { z } from "zod";

export const costsQuery = z.object({
  window: z.string().max(10).optional(),
  step: z.string().max(10).optional(),
  aggregate: z.enum(["team", "user", "resource", "kind", "run", "deployment"], { error: "aggregate is one of team, user, resource, kind, run, deployment" }).optional(),
  team: z.string().max(64).optional(),
});
export type CostsQuery = z.infer<typeof costsQuery>;
