import Link from "next/link";
import { formatUsd } from "@/lib/format";
import type { TeamBudget } from "./types";

const NEAR = 0.8;

function BudgetBar({ budget: b }: { budget: TeamBudget }) {
  const limit = b.monthly_budget_usd;
  const share = b.share ?? 0;
  const isOver = limit !== null && share >= 1;
  const isNear = limit !== null && !isOver && share >= NEAR;
  const text = limit === null
    ? `${formatUsd(b.spent_this_month_usd)} this month · no budget set`
    : `${formatUsd(b.spent_this_month_usd)} of ${formatUsd(limit)} this month (${Math.round(share * 100)} %)`;
  const tone = isOver ? "bg-red-500" : isNear ? "bg-amber-500" : "bg-teal-600";
  return (
    <li>
      <div className="flex flex-wrap justify-between gap-x-3 text-xs">
        <Link href={`/teams/${b.team}`} className="font-mono text-stone-800 hover:underline">{b.team}</Link>
        <span className={isOver ? "font-medium text-red-700" : isNear ? "text-amber-800" : "text-stone-600"}>
          {text}{isOver ? " — over budget" : isNear ? " — nearing budget" : ""}
        </span>
      </div>
      {limit !== null && (
        // The bar stops at the budget; the text (and aria-valuetext) carries the real figure past it.
        <div className="mt-1 h-2 rounded-full bg-stone-100" role="meter" aria-label={`${b.team} budget`}
          aria-valuemin={0} aria-valuemax={limit} aria-valuenow={Math.min(b.spent_this_month_usd, limit)} aria-valuetext={text}>
          <div className={`h-2 rounded-full ${tone}`} style={{ width: `${Math.min(100, share * 100)}%` }} />
        </div>
      )}
    </li>
  );
}

/** Each team's spend this calendar month (UTC) against its monthly budget. */
export function BudgetBars({ budgets }: { budgets: TeamBudget[] }) {
  if (budgets.length === 0) return <p className="text-sm text-stone-600">No team to show. Ask a team lead to add you to a team.</p>;
  return (
    <div className="space-y-3">
      <ul className="space-y-3" aria-label="Team budgets">
        {budgets.map((b) => <BudgetBar key={b.team} budget={b} />)}
      </ul>
      <p className="text-xs text-stone-500">Month to date, calendar month in UTC. Admins set budgets on each team&apos;s page.</p>
    </div>
  );
}
