import type { ReactNode } from "react";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { getApprovalForPage } from "./approval";

// Another team's approval request answers a real 404 before anything streams (the page's loading
// skeleton sits inside this layout, so the check runs before its Suspense boundary).
export default async function ApprovalLayout(props: { children: ReactNode; params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  await forPage(getApprovalForPage(await requirePageCtx(), id));
  return props.children;
}
