import type { ReactNode } from "react";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { timed } from "@/server/http/page-timing";
import { getExperimentForPage } from "./experiment";

// Another team's experiment answers a real 404 before anything streams.
export default async function ExperimentLayout(props: { children: ReactNode; params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  const ctx = await timed("experiment layout: session + actor", requirePageCtx());
  await forPage(timed("experiment layout: experiment + run count", getExperimentForPage(ctx, id)));
  return props.children;
}
