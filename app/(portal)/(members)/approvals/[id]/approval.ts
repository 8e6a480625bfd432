import { cache } from "react";
import { getApproval } from "@/server/approvals/service";

/** One approval lookup per request, shared by the layout's access check and the page. */
export const getApprovalForPage = cache(getApproval);
