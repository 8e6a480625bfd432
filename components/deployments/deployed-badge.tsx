import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { statusLabel } from "./format";

export type DeployedAt = { deployment_id: string; environment: string; version: number; status: string };

/** "production v3" — a link to the deployment; amber with its status while it is not serving. */
export function DeployedBadge({ d }: { d: DeployedAt }) {
  const ready = d.status === "ready";
  return (
    <Link href={`/deployments/${d.deployment_id}`} className="hover:opacity-80" title={`${d.environment} deployment ${d.deployment_id} (${statusLabel(d.status)})`}>
      <Badge tone={ready ? (d.environment === "production" ? "green" : "teal") : "amber"}>{d.environment} v{d.version}{ready ? "" : ` · ${statusLabel(d.status)}`}</Badge>
    </Link>
  );
}
