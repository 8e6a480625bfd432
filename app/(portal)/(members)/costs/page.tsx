import type { Metadata } from "next";
import { ComingSoon } from "@/components/shell/coming-soon";

export const metadata: Metadata = { title: "Costs" };

export default function CostsPage() {
  return (
    <ComingSoon
      title="Costs"
      description="What training and serving cost, by team, user, resource and run."
      planned={["Cost ledger metered from real job and deployment runtime", "Budgets with alerts", "Breakdowns by team, user, resource, run and deployment"]}
    />
  );
}
