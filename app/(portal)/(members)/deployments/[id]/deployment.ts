import { cache } from "react";
import { getDeploymentDetail } from "@/server/deployments/service";

/** One deployment lookup per request, shared by the layout's access check and the page. */
export const getDeploymentForPage = cache(getDeploymentDetail);
