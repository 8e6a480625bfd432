import type { Metadata } from "next";
import { SecurityPanel } from "@/components/account/security-panel";
import { PageHeader } from "@/components/ui/page-header";
import { mySecurity } from "@/server/auth/account";
import { requirePageCtx } from "@/server/auth/session";
import { changePasswordAction, endOtherSessionsAction, endSessionAction } from "./actions";

export const metadata: Metadata = { title: "Security" };

export default async function SecurityPage() {
  const ctx = await requirePageCtx();
  const { sessions, has_password } = await mySecurity(ctx);
  return (
    <div>
      <PageHeader
        title="Security"
        description="Where you are signed in, and your password. Signing out the other sessions or changing the password also makes every other browser an unknown device to sign-in throttling."
      />
      <SecurityPanel
        sessions={sessions}
        hasPassword={has_password}
        changePassword={changePasswordAction}
        endOtherSessions={endOtherSessionsAction}
        endSession={endSessionAction}
      />
    </div>
  );
}
