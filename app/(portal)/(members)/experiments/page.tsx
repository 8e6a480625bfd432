import type { Metadata } from "next";
import { ComingSoon } from "@/components/shell/coming-soon";

export const metadata: Metadata = { title: "Experiments" };

export default function ExperimentsPage() {
  return (
    <ComingSoon
      title="Experiments"
      description="Track runs from your own code with the unmodified mlflow client, and browse them here."
      planned={[
        "MLflow-compatible tracking API (MLFLOW_TRACKING_URI + MLFLOW_TRACKING_TOKEN)",
        "Runs table that stays fast at 100k runs: server-side sort, filters with OR, saved views",
        "Run pages with metric charts, artifacts and a compare view",
      ]}
    />
  );
}
