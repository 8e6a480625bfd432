import type { Metadata } from "next";
import Link from "next/link";
import { AuditFilters } from "@/components/audit/audit-filters";
import { VerifyButton } from "@/components/audit/verify-button";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime } from "@/lib/format";
import { auditQuerySchema } from "@/lib/schemas/audit";
import { listAudit } from "@/server/audit/service";
import { forPage } from "@/server/auth/page";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { listTeams } from "@/server/teams/service";
import { verifyAuditAction } from "./actions";

export const metadata: Metadata = { title: "Audit" };

const OUTCOME_TONE = { allowed: "green", denied: "red", error: "amber" } as const;

export default async function AuditPage(props: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const ctx = await requirePageCtx();
  const raw = Object.fromEntries(Object.entries(await props.searchParams).filter(([, v]) => typeof v === "string" && v !== "")) as Record<string, string>;
  if (raw.since && /^\d{4}-\d{2}-\d{2}$/.test(raw.since)) raw.since = `${raw.since}T00:00:00Z`;
  const parsed = auditQuerySchema.safeParse(raw);
  const teams = (await listTeams(ctx)).filter((t) => ctx.actor.isAdmin || (t.role && can(ctx.actor, "manage_team", ctx.actor.memberships.find((m) => m.teamSlug === t.slug)?.teamId)));
  const result = parsed.success ? await forPage(listAudit(ctx, parsed.data)) : null;
  const nextHref = result?.next_page_token ? `/audit?${new URLSearchParams({ ...raw, page_token: result.next_page_token })}` : null;
  return (
    <div className="space-y-4">
      <PageHeader
        title="Audit trail"
        description={ctx.actor.isAdmin ? "Every change and every denied attempt, on all teams. Rows are hash-chained: verify detects any edit." : "Changes and denied attempts in the teams you lead."}
        actions={<VerifyButton verify={verifyAuditAction} />}
      />
      <AuditFilters teams={teams.map((t) => t.slug)} values={raw} />
      {!parsed.success && (
        <div role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
          {parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}
        </div>
      )}
      <Table caption="Audit events">
        <thead>
          <tr><Th>Time</Th><Th>Actor</Th><Th>Action</Th><Th>Target</Th><Th>Team</Th><Th>Outcome</Th><Th>Request</Th></tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {result && result.events.length === 0 && <EmptyRow colSpan={7}>No events match these filters.</EmptyRow>}
          {result?.events.map((e) => (
            <tr key={e.id} className="hover:bg-stone-50">
              <Td className="whitespace-nowrap text-stone-600">{formatDateTime(e.at)}</Td>
              <Td className="text-xs"><span className="font-mono">{e.actor}</span>{e.ip && <div className="text-stone-400">{e.ip}</div>}</Td>
              <Td className="font-mono text-xs">{e.action}</Td>
              <Td className="max-w-xs truncate font-mono text-xs" title={JSON.stringify(e.details)}>{e.target}</Td>
              <Td className="font-mono text-xs">{e.team ?? "—"}</Td>
              <Td><Badge tone={OUTCOME_TONE[e.outcome]}>{e.outcome}</Badge></Td>
              <Td className="font-mono text-[11px] text-stone-500">{e.request_id?.slice(0, 8)}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
      {nextHref && <div className="flex justify-end"><Link className={buttonClass("secondary", "sm")} href={nextHref}>Older events →</Link></div>}
    </div>
  );
}
