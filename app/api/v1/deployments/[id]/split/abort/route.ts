// POST /api/v1/deployments/{id}/split/abort — all traffic back on the baseline; the candidate stops
import { abortSplit } from "@/server/deployments/split";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/deployments/[id]/split/abort" }, async ({ ctx, params }) => abortSplit(ctx, params.id ?? ""));
