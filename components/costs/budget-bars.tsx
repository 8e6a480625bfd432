import Link from "next/link";
import type { ActionResult } from "@/lib/action-result";
import type { BudgetExtensionDto } from "@/lib/schemas/costs";
import { formatUsd } from "@/lib/format";
import { ExtensionForm } from "./extension-form";
import type { TeamBudget } from "./types";

const STEP_LABEL = { ok: "", warn: " — past the warning line", approval: " — new work needs a lead's approval", block: " — new work blocked" } as const;

type Grant = (input: { team: string; amount_usd: number; reason: string }) => Promise<ActionResult<BudgetExtensionDto>>;

function lines(b: TeamBudget): string {
  const parts = [["warn", b.lines.warn_usd], ["approval", b.lines.approval_usd], ["block", b.lines.block_usd]].filter(([, v]) => v !== null).map(([k, v]) => `${k} ${formatUsd(v as number)}`);
  return parts.length ? parts.join(" · ") : "no budget steps";
}

function BudgetBar({ budget: b, grant }: { budget: TeamBudget; grant: Grant }) {
  const limit = b.monthly_budget_usd;
  const share = b.share ?? 0;
  const isOver = b.step === "approval" || b.step === "block";
  const isNear = b.step === "warn";
  const text = !limit
    ? `${formatUsd(b.spent_this_month_usd)} this month · no budget set`
    : `${formatUsd(b.spent_this_month_usd)} of ${formatUsd(limit)} this month (${Math.round(share * 100)} %)`;
  const tone = isOver ? "bg-red-500" : isNear ? "bg-amber-500" : "bg-teal-600";
  return (
    <li className="space-y-1">
      <div className="flex flex-wrap justify-between gap-x-3 text-xs">
        <Link href={`/teams/${b.team}`} className="font-mono text-stone-800 hover:underline">{b.team}</Link>
        <span className={isOver ? "font-medium text-red-700" : isNear ? "text-amber-800" : "text-stone-600"}>{text}{STEP_LABEL[b.step]}</span>
      </div>
      {limit ? (
        // The bar stops at the budget; the text (and aria-valuetext) carries the real figure past it.
        <div className="h-2 rounded-full bg-stone-100" role="meter" aria-label={`${b.team} budget`}
          aria-valuemin={0} aria-valuemax={limit} aria-valuenow={Math.min(b.spent_this_month_usd, limit)} aria-valuetext={text}>
          <div className={`h-2 rounded-full ${tone}`} style={{ width: `${Math.min(100, share * 100)}%` }} />
        </div>
      ) : null}
      <dl className="grid grid-cols-[auto_1fr] gap-x-2 text-xs text-stone-600">
        <dt>Forecast, month end</dt>
        <dd aria-label={`${b.team} month-end forecast`} className={limit && b.forecast_month_end_usd > limit ? "font-medium text-red-700" : "text-stone-800"}>{formatUsd(b.forecast_month_end_usd)}</dd>
        <dt>Running now</dt>
        <dd>{formatUsd(b.forecast.running_hourly_usd)}/h (month average {formatUsd(b.forecast.average_hourly_usd)}/h, {Math.round(b.forecast.hours_left)} h left)</dd>
        <dt>Lines</dt>
        <dd>{lines(b)}</dd>
      </dl>
      {b.extensions.length > 0 && (
        <ul aria-label={`${b.team} budget extensions`} className="space-y-0.5 text-xs text-stone-700">
          {b.extensions.map((e) => (
            <li key={e.id}>+{formatUsd(e.amount_usd)} by {e.granted_by} on {e.created_at.slice(0, 10)}: {e.reason}</li>
          ))}
        </ul>
      )}
      {b.viewer.can_extend && limit && b.thresholds.approval_pct !== null ? <ExtensionForm team={b.team} grant={grant} /> : null}
    </li>
  );
}

/** Each team's spend this calendar month (UTC) against its monthly budget, its month-end forecast and budget steps. */
export function BudgetBars({ budgets, grant }: { budgets: TeamBudget[]; grant: Grant }) {
  if (budgets.length === 0) return <p className="text-sm text-stone-600">No team to show. Ask a team lead to add you to a team.</p>;
  return (
    <div className="space-y-3">
      <ul className="space-y-4" aria-label="Team budgets">
        {budgets.map((b) => <BudgetBar key={b.team} budget={b} grant={grant} />)}
      </ul>
      <p className="text-xs text-stone-500">
        Month to date, calendar month in UTC. The month-end forecast is what was spent so far plus the hours left in the
        month at the higher of two rates: what runs now (running jobs at their price, live deployments&apos; replicas at the
        replica price) or the month&apos;s average hourly spend so far. Past the warning line new jobs and deploys carry a
        note; past the approval line only the team&apos;s leads start new work until a lead grants an extension (which raises
        that line this month); past the block line nobody does until an admin raises the budget or the month turns. Running
        jobs and deployments are never stopped. Admins set budgets and steps on each team&apos;s page.
      </p>
    </div>
  );
}
