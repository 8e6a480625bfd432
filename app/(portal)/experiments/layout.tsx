import type { ReactNode } from "react";
import { requireMember } from "@/server/auth/page-access";
import { requirePageCtx } from "@/server/auth/session";

// Access is checked here, outside the loading boundary, so a refusal answers with a real 403 status.
export default async function MemberLayout({ children }: { children: ReactNode }) {
  requireMember((await requirePageCtx()).actor);
  return children;
}
