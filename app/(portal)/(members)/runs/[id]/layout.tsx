import type { ReactNode } from "react";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { getRunForPage } from "./run";

// Another team's run answers a real 404 before anything streams.
export default async function RunLayout(props: { children: ReactNode; params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  await forPage(getRunForPage(await requirePageCtx(), id));
  return props.children;
}
