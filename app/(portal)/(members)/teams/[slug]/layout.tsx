import type { ReactNode } from "react";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { getTeamForPage } from "./team";

// A team the actor may not read answers a real 404 before anything streams.
export default async function TeamLayout(props: { children: ReactNode; params: Promise<{ slug: string }> }) {
  const { slug } = await props.params;
  await forPage(getTeamForPage(await requirePageCtx(), slug));
  return props.children;
}
