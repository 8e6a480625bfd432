// PUT /api/v1/deployments/{id}/sampling — {sample_rate: 0–1}: the share of the gateway's requests sampled into the inference log
import { samplingSchema } from "@/lib/schemas/drift";
import { setSampleRate } from "@/server/drift/service";
import { apiRoute } from "@/server/http/api-route";

export const PUT = apiRoute({ endpoint: "/api/v1/deployments/[id]/sampling", body: samplingSchema }, async ({ ctx, params, body }) => setSampleRate(ctx, params.id ?? "", body));
