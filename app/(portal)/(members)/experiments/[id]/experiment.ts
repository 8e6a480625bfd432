import { cache } from "react";
import { getExperiment } from "@/server/tracking/experiments";

/** One experiment lookup per request, shared by the layout's access check and the page. */
export const getExperimentForPage = cache(getExperiment);
