// GET /api/v1/deployments/{id}/kubernetes — the deployment's pods, rollout and HPA state and the events about its objects ({"backend":"local"} when served locally)
import { apiRoute } from "@/server/http/api-route";
import { deploymentKubernetes } from "@/server/compute/cluster-view";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ endpoint: "/api/v1/deployments/[id]/kubernetes" }, ({ ctx, params }) => deploymentKubernetes(ctx, params.id ?? ""));
