import type { Metadata } from "next";
import Link from "next/link";
import { PlatformHealthView } from "@/components/platform/platform-health";
import { PageHeader } from "@/components/ui/page-header";
import { requirePageCtx } from "@/server/auth/session";
import { platformHealth } from "@/server/platform/health";

export const metadata: Metadata = { title: "Platform" };

// Admins only (the admin layout answers 403 to everyone else): the platform's own health, from Prometheus when one
// is configured, else from Cairn's own rollups.
export default async function PlatformPage() {
  const ctx = await requirePageCtx();
  const health = await platformHealth(ctx, { window: "1h" });
  return (
    <div className="space-y-4">
      <PageHeader
        title="Platform"
        description="Cairn's own health: API traffic by endpoint, the job queue, active users, storage and GPUs by team. The same figures are exported for Prometheus at /api/metrics."
        actions={<Link href="/admin" className="text-sm text-teal-800 hover:underline">Back to Admin</Link>}
      />
      <PlatformHealthView initial={health} />
    </div>
  );
}
