import type { Metadata } from "next";
import Link from "next/link";
import { APPROVAL_STATUSES, APPROVAL_TONE, decisionLabel } from "@/components/approvals/format";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatRelative } from "@/lib/format";
import { approvalsQuery } from "@/lib/schemas/deployments";
import { listApprovals, pendingForActor } from "@/server/approvals/service";
import { can } from "@/server/auth/policy";
import { pageTeamScope, requirePageCtx } from "@/server/auth/session";

export const metadata: Metadata = { title: "Approvals" };

export default async function ApprovalsPage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  // Pending is the inbox; "all" (an explicit choice) lifts the filter.
  const status = sp.status ?? "pending";
  const ctx = await requirePageCtx();
  const parsed = approvalsQuery.safeParse({ status: status === "all" ? undefined : status });
  const filter = parsed.success ? parsed.data : { status: "pending" as const, limit: 100 };
  const scope = await pageTeamScope(ctx, sp.team);
  const [{ approvals }, toDecide] = await Promise.all([listApprovals(ctx, { ...filter, team: scope ?? undefined }), pendingForActor(ctx)]);
  const teamIds = new Map(ctx.actor.memberships.map((m) => [m.teamSlug, m.teamId]));
  return (
    <div className="space-y-4">
      <PageHeader
        title="Approvals"
        description={<>Production deploys wait here until a team lead of the team — never the person who asked — approves them, with the candidate&apos;s metrics beside production&apos;s and the monthly cost change. Ask for one from a model version&apos;s page in <Link href="/models" className="text-teal-800 underline">Models</Link>.</>}
      />
      {toDecide > 0 && <p role="status" className="rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">{toDecide} pending request{toDecide === 1 ? " waits" : "s wait"} for your decision.</p>}
      <form method="get" className="flex flex-wrap items-end gap-3" role="search" aria-label="Filter approval requests">
        <input type="hidden" name="team" value={scope ?? "all"} />
        <div>
          <label htmlFor="status" className="block text-xs text-stone-600">Status</label>
          <select id="status" name="status" defaultValue={parsed.success ? status : "pending"} className="mt-1 rounded-md border border-stone-300 bg-white px-2.5 py-1.5 text-sm">
            <option value="all">all</option>
            {APPROVAL_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
        <button type="submit" className={buttonClass("secondary", "sm")}>Apply</button>
      </form>
      <Table caption="Approval requests">
        <thead>
          <tr><Th>Request</Th><Th>Team</Th><Th>Requested by</Th><Th>Asked</Th><Th>Expires</Th><Th>Status</Th><Th>Decision</Th></tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {approvals.length === 0 && (
            <EmptyRow colSpan={7}>
              {filter.status === "pending"
                ? <>No production deploy is waiting for a decision. To ask for one, open an ONNX version in <Link href="/models" className="text-teal-800 underline">Models</Link> and choose Request production deploy; <Link href="/approvals?status=all" className="text-teal-800 underline">see all requests</Link>.</>
                : "No approval request matches this filter."}
            </EmptyRow>
          )}
          {approvals.map((a) => {
            const isMine = a.requested_by === ctx.actor.email;
            const canDecide = can(ctx.actor, "approve_production", teamIds.get(a.team));
            return (
              <tr key={a.id} className="hover:bg-stone-50">
                <Td><Link href={`/approvals/${a.id}`} className="font-medium text-teal-800 hover:underline">{a.model} v{a.version}</Link><div className="text-xs text-stone-500">{a.spec.replicas} replica{a.spec.replicas === 1 ? "" : "s"} in {a.environment}</div></Td>
                <Td className="font-mono text-xs">{a.team}</Td>
                <Td>{a.requested_by}</Td>
                <Td className="text-stone-600" title={formatDateTime(a.created_at)}>{formatRelative(a.created_at)}</Td>
                <Td className="text-stone-600" title={formatDateTime(a.expires_at)}>{a.status === "pending" ? formatRelative(a.expires_at) : "—"}</Td>
                <Td><Badge tone={APPROVAL_TONE[a.status] ?? "neutral"}>{a.status}</Badge></Td>
                <Td>
                  {a.status === "pending"
                    ? <span className={isMine || !canDecide ? "text-stone-600" : "font-medium text-amber-800"}>{decisionLabel({ isMine, canDecide })}</span>
                    : <span className="text-stone-600">{a.decided_by ? `${a.status} by ${a.decided_by}` : a.comment ?? ""}{a.decided_at && <span className="block text-xs text-stone-500" title={formatDateTime(a.decided_at)}>{formatRelative(a.decided_at)}</span>}</span>}
                </Td>
              </tr>
            );
          })}
        </tbody>
      </Table>
    </div>
  );
}
