import { cache } from "react";
import { getRun } from "@/server/tracking/runs";

/** One run lookup per request, shared by the layout's access check and the page. */
export const getRunForPage = cache(getRun);
