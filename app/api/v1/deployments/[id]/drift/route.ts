// GET /api/v1/deployments/{id}/drift?hours=24 — drift per feature and for the prediction over time (PSI, chi-square
// p-value, missing and invalid shares per window), the reference beside the newest window, the sample rate
import { driftQuery as query } from "@/lib/schemas/drift";
import { getDrift } from "@/server/drift/service";
import { apiRoute } from "@/server/http/api-route";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]/drift", query }, async ({ ctx, params, query: q }) => getDrift(ctx, params.id ?? "", { hours: q.hours }));
