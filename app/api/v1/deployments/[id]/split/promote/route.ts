// POST /api/v1/deployments/{id}/split/promote — the split's candidate takes all of the traffic: the baseline stops, production's protected alias moves to the candidate
import { promoteSplit } from "@/server/deployments/split";
import { apiRoute } from "@/server/http/api-route";

export const POST = apiRoute({ endpoint: "/api/v1/deployments/[id]/split/promote" }, async ({ ctx, params }) => promoteSplit(ctx, params.id ?? ""));
