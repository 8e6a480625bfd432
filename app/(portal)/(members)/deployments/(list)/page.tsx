import type { Metadata } from "next";
import Link from "next/link";
import { DEPLOYMENT_TONE, ENVIRONMENT_TONE, LIVE_STATUSES, statusLabel } from "@/components/deployments/format";
import { StopDeploymentButton } from "@/components/deployments/stop-button";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { RefreshWhile } from "@/components/ui/refresh-while";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatRelative } from "@/lib/format";
import { modelHref } from "@/lib/registry-links";
import { listDeploymentsQuery } from "@/lib/schemas/deployments";
import { can } from "@/server/auth/policy";
import { pageTeamScope, requirePageCtx } from "@/server/auth/session";
import { listDeployments } from "@/server/deployments/service";
import { stopDeploymentAction } from "../actions";
import { PathCode } from "@/components/ui/path-code";

export const metadata: Metadata = { title: "Deployments" };

export default async function DeploymentsPage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const parsed = listDeploymentsQuery.safeParse({ environment: sp.environment || undefined, status: sp.status || undefined });
  const filter = parsed.success ? parsed.data : { limit: 100 };
  const scope = await pageTeamScope(ctx, sp.team);
  const { deployments } = await listDeployments(ctx, { ...filter, team: scope ?? undefined });
  const teamIds = new Map(ctx.actor.memberships.map((m) => [m.teamSlug, m.teamId]));
  return (
    <div className="space-y-4">
      <RefreshWhile active={deployments.some((d) => d.status === "deploying")} />
      <PageHeader
        title="Deployments"
        description={<>Registered ONNX models served behind the inference gateway at <code className="font-mono text-xs">/serve/&lt;team&gt;/&lt;deployment&gt;</code>. Deploy a version to staging from its page in <Link href="/models" className="text-teal-800 underline">Models</Link>; production deploys need a team lead&apos;s approval (<Link href="/approvals" className="text-teal-800 underline">Approvals</Link>).</>}
      />
      <form method="get" className="flex flex-wrap items-end gap-3" role="search" aria-label="Filter deployments">
        <input type="hidden" name="team" value={scope ?? "all"} />
        <div>
          <label htmlFor="environment" className="block text-xs text-stone-600">Environment</label>
          <select id="environment" name="environment" defaultValue={sp.environment ?? ""} className="mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm">
            <option value="">all</option><option value="staging">staging</option><option value="production">production</option>
          </select>
        </div>
        <div>
          <label htmlFor="status" className="block text-xs text-stone-600">Status</label>
          <select id="status" name="status" defaultValue={sp.status ?? ""} className="mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm">
            <option value="">all</option>
            {["deploying", "ready", "failed", "scaled_to_zero", "stopped"].map((s) => <option key={s} value={s}>{statusLabel(s)}</option>)}
          </select>
        </div>
        <button type="submit" className={buttonClass("secondary", "sm")}>Apply</button>
      </form>
      <Table caption="Deployments">
        <thead>
          <tr><Th>Model</Th><Th>Team</Th><Th>Environment</Th><Th>Status</Th><Th className="text-right">Replicas</Th><Th>Endpoint</Th><Th>Deployed</Th><Th><span className="sr-only">Actions</span></Th></tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {deployments.length === 0 && (
            <EmptyRow colSpan={8}>{sp.environment || sp.status ? "No deployment matches these filters." : "Nothing deployed yet. Open an ONNX model version in Models and choose Deploy to staging."}</EmptyRow>
          )}
          {deployments.map((d) => {
            const label = `${d.model} v${d.version} (${d.environment})`;
            const mayStop = LIVE_STATUSES.has(d.status) && (ctx.actor.isAdmin || can(ctx.actor, d.environment === "production" ? "deploy_production" : "deploy_staging", teamIds.get(d.team)));
            return (
              <tr key={d.deployment_id} className="hover:bg-stone-50">
                <Td>
                  <Link href={`/deployments/${d.deployment_id}`} className="font-medium text-teal-800 hover:underline">{d.model} v{d.version}</Link>
                  <div className="text-xs text-stone-500"><Link href={modelHref(d.team, d.model, d.version)} className="hover:underline">version page</Link>{d.alias && <> · by alias @{d.alias}</>}</div>
                </Td>
                <Td className="font-mono text-xs">{d.team}</Td>
                <Td><Badge tone={ENVIRONMENT_TONE[d.environment] ?? "teal"}>{d.environment}</Badge></Td>
                <Td>
                  <Badge tone={DEPLOYMENT_TONE[d.status] ?? "neutral"}>{statusLabel(d.status)}</Badge>
                  {d.status === "failed" && d.message && <div className="max-w-xs truncate text-xs text-red-700" title={d.message}>{d.message}</div>}
                </Td>
                <Td className="text-right tabular-nums">{d.ready_replicas === null ? d.replicas : `${d.ready_replicas} / ${d.replicas}`}</Td>
                <Td><PathCode path={d.endpoint} /></Td>
                <Td className="text-stone-600" title={formatDateTime(d.created_at)}>{formatRelative(d.created_at)}<div className="text-xs text-stone-500">{d.created_by}</div></Td>
                <Td className="text-right">{mayStop && <StopDeploymentButton id={d.deployment_id} label={label} stop={stopDeploymentAction} />}</Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
    </div>
  );
}
