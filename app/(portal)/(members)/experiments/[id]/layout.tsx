import type { ReactNode } from "react";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { getExperimentForPage } from "./experiment";

// Another team's experiment answers a real 404 before anything streams.
export default async function ExperimentLayout(props: { children: ReactNode; params: Promise<{ id: string }> }) {
  const { id } = await props.params;
  await forPage(getExperimentForPage(await requirePageCtx(), id));
  return props.children;
}
