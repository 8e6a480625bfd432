import type { ReactNode } from "react";
import { requireMember } from "@/server/auth/page-access";
import { requirePageCtx } from "@/server/auth/session";

// Pages for team members (and admins). Checked here, outside every loading boundary, so a refusal
// answers with a real 403 status.
export default async function MembersLayout({ children }: { children: ReactNode }) {
  requireMember((await requirePageCtx()).actor);
  return children;
}
