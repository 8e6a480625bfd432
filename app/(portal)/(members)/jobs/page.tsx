import type { Metadata } from "next";
import { ComingSoon } from "@/components/shell/coming-soon";

export const metadata: Metadata = { title: "Jobs" };

export default function JobsPage() {
  return (
    <ComingSoon
      title="Jobs"
      description="Launch training from the UI or the API; the platform handles the infrastructure."
      planned={["Launch form with quota headroom and cost preview", "Local and Kubernetes executors with admission control", "Live logs and a status timeline"]}
    />
  );
}
