import { forbidden } from "next/navigation";
import type { ReactNode } from "react";
import { canViewAudit } from "@/server/audit/service";
import { requirePageCtx } from "@/server/auth/session";

// Checked outside the loading boundary, so a refusal answers with a real 403 status.
export default async function AuditLayout({ children }: { children: ReactNode }) {
  if (!canViewAudit(await requirePageCtx())) forbidden();
  return children;
}
