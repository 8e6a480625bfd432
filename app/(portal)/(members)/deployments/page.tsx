import type { Metadata } from "next";
import { ComingSoon } from "@/components/shell/coming-soon";

export const metadata: Metadata = { title: "Deployments" };

export default function DeploymentsPage() {
  return (
    <ComingSoon
      title="Deployments"
      description="Serve registered models behind the inference gateway."
      planned={["Staging deploys in one click; production through approval", "Autoscaling, traffic split and rollback", "Live request rate, latency and error charts"]}
    />
  );
}
