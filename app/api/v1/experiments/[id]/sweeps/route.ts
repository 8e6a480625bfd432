// GET /api/v1/experiments/{id}/sweeps — the experiment's sweeps, and whether Bayesian search is available here
// POST /api/v1/experiments/{id}/sweeps — start a hyperparameter sweep: 201 with the sweep (its driver submits the trials)
import { createSweepSchema } from "@/lib/schemas/sweeps";
import { apiRoute } from "@/server/http/api-route";
import { createSweep, listSweeps, sweepCapabilities } from "@/server/sweeps/service";

export const GET = apiRoute({ endpoint: "/api/v1/experiments/[id]/sweeps" }, async ({ ctx, params }) => ({
  sweeps: await listSweeps(ctx, params.id ?? ""),
  ...(await sweepCapabilities()),
}));

export const POST = apiRoute({ endpoint: "/api/v1/experiments/[id]/sweeps", body: createSweepSchema, status: 201 }, async ({ ctx, params, body }) =>
  createSweep(ctx, params.id ?? "", body));
