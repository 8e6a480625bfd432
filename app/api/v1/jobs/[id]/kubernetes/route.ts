// GET /api/v1/jobs/{id}/kubernetes — the job's pods and the Kubernetes events about them and its Jobs ({"backend":"local"} without a cluster)
import { apiRoute } from "@/server/http/api-route";
import { jobKubernetes } from "@/server/compute/cluster-view";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ endpoint: "/api/v1/jobs/[id]/kubernetes" }, ({ ctx, params }) => jobKubernetes(ctx, params.id ?? ""));
