// GET /api/v1/cluster — admins: the cluster's nodes (GPU type, allocatable vs. requested) and each team's
// ResourceQuota status, read from the Kubernetes API now ({"backend":"local"} without a cluster)
import { apiRoute } from "@/server/http/api-route";
import { clusterOverview } from "@/server/compute/cluster-view";

export const dynamic = "force-dynamic";

export const GET = apiRoute({ endpoint: "/api/v1/cluster" }, ({ ctx }) => clusterOverview(ctx));
