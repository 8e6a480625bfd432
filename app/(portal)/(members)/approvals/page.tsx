import type { Metadata } from "next";
import { ComingSoon } from "@/components/shell/coming-soon";

export const metadata: Metadata = { title: "Approvals" };

export default function ApprovalsPage() {
  return (
    <ComingSoon
      title="Approvals"
      description="Production deploys wait here for a team lead, with the evidence in front of them."
      planned={["Inbox of pending production requests", "Candidate vs. current production metrics and cost change", "Approve or reject with a comment (never one's own request)"]}
    />
  );
}
