import type { ReactNode } from "react";
import { requireAdmin } from "@/server/auth/page-access";
import { requirePageCtx } from "@/server/auth/session";

// Checked outside the loading boundary, so a refusal answers with a real 403 status.
export default async function AdminLayout({ children }: { children: ReactNode }) {
  requireAdmin((await requirePageCtx()).actor);
  return children;
}
