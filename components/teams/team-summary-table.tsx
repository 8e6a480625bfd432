import Link from "next/link";
import type { ReactNode } from "react";
import { Badge } from "@/components/ui/badge";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { ROLE_LABELS } from "@/lib/nav";
import { formatUsd } from "@/lib/format";
import type { TeamListItemDto } from "@/lib/schemas/teams";

const NEAR = 0.8;
const num = (n: number) => String(Math.round(n * 100) / 100);

function UsedOf({ used, limit, label }: { used: number; limit: number | undefined; label: string }) {
  const over = limit !== undefined && used > limit;
  return (
    <span className={over ? "font-medium text-red-700" : undefined} title={`${label}: ${num(used)} in use of ${limit ?? "no limit"}`}>
      <span className="sr-only">{label}: </span>{num(used)} / {limit ?? "∞"}{over && <span className="sr-only"> (over quota)</span>}
    </span>
  );
}

function BudgetShare({ team }: { team: TeamListItemDto }) {
  const budget = team.quota?.monthly_budget_usd;
  if (!budget || team.budget_share === null) return <span className="text-xs text-stone-500">no budget</span>;
  const share = team.budget_share;
  const pct = Math.round(share * 100);
  const tone = share >= 1 ? "bg-red-500" : share >= NEAR ? "bg-amber-500" : "bg-teal-600";
  const text = `${pct} % of ${formatUsd(budget)}`;
  return (
    <div className="min-w-32">
      <div className={`text-xs ${share >= 1 ? "font-medium text-red-700" : share >= NEAR ? "text-amber-800" : "text-stone-600"}`}>{text}{share >= 1 ? " — over" : ""}</div>
      <div className="mt-1 h-1.5 rounded-full bg-stone-100" role="meter" aria-label={`${team.slug} budget share`} aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.min(pct, 100)} aria-valuetext={text}>
        <div className={`h-1.5 rounded-full ${tone}`} style={{ width: `${Math.min(100, pct)}%` }} />
      </div>
    </div>
  );
}

/**
 * Teams with quota vs. what is in use now (admitted and running jobs, live deployments) and month-to-date
 * spend against the monthly budget. `extra` adds columns (the admin console's cluster state and actions).
 */
export function TeamSummaryTable({ caption, teams, showRole, extra, empty }: {
  caption: string;
  teams: TeamListItemDto[];
  showRole?: boolean;
  extra?: { headers: ReactNode[]; cells: (slug: string) => ReactNode[] };
  empty: ReactNode;
}) {
  const cols = 7 + (showRole ? 1 : 0) + (extra?.headers.length ?? 0);
  return (
    <Table caption={caption}>
      <thead>
        <tr>
          <Th>Team</Th>{showRole && <Th>Your role</Th>}<Th>CPU</Th><Th>GPUs</Th><Th>Jobs</Th><Th>Deployments</Th><Th className="text-right">Spend this month</Th><Th>Budget</Th>
          {extra?.headers.map((h, i) => <Th key={i}>{h}</Th>)}
        </tr>
      </thead>
      <tbody className="divide-y divide-stone-100">
        {teams.length === 0 && <EmptyRow colSpan={cols}>{empty}</EmptyRow>}
        {teams.map((t) => (
          <tr key={t.slug} className="hover:bg-stone-50">
            <Td>
              <Link className="font-medium text-teal-800 hover:underline" href={`/teams/${t.slug}`}>{t.name}</Link>
              <div className="font-mono text-xs text-stone-500">{t.slug} · {t.namespace}</div>
            </Td>
            {showRole && <Td>{t.role ? <Badge tone="teal">{ROLE_LABELS[t.role]}</Badge> : <span className="text-stone-500">—</span>}</Td>}
            <Td className="text-xs tabular-nums"><UsedOf label="CPU cores" used={t.used.cpu} limit={t.quota?.cpu} /></Td>
            <Td className="text-xs tabular-nums"><UsedOf label="GPUs" used={t.used.gpus} limit={t.quota?.gpus} /></Td>
            <Td className="text-xs tabular-nums"><UsedOf label="Concurrent jobs" used={t.used.max_concurrent_jobs} limit={t.quota?.max_concurrent_jobs} /></Td>
            <Td className="text-xs tabular-nums"><UsedOf label="Deployments" used={t.used.max_deployments} limit={t.quota?.max_deployments} /></Td>
            <Td className="text-right tabular-nums">{formatUsd(t.spent_this_month_usd)}</Td>
            <Td><BudgetShare team={t} /></Td>
            {extra?.cells(t.slug).map((c, i) => <Td key={i}>{c}</Td>)}
          </tr>
        ))}
      </tbody>
    </Table>
  );
}
