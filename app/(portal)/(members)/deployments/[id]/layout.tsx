import type { ReactNode } from "react";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { getDeploymentForPage } from "./deployment";

// Another team's deployment answers a real 404 before anything streams (the page's loading skeleton
// sits inside this layout, so the check runs before its Suspense boundary).
export default async function DeploymentLayout(props: { children: ReactNode; params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  await forPage(getDeploymentForPage(await requirePageCtx(), id));
  return props.children;
}
