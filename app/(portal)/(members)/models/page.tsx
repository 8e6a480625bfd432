import type { Metadata } from "next";
import { ComingSoon } from "@/components/shell/coming-soon";

export const metadata: Metadata = { title: "Models" };

export default function ModelsPage() {
  return (
    <ComingSoon
      title="Models"
      description="The model registry: versions with lineage back to the run that trained them."
      planned={["MLflow registry API (register_model, aliases, models:/ URIs)", "Version pages with lineage and signatures", "Protected production alias moved only by approval"]}
    />
  );
}
