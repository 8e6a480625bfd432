import { cache } from "react";
import { getTeam } from "@/server/teams/service";

/** One team lookup per request, shared by the layout's access check and the page. */
export const getTeamForPage = cache(getTeam);
