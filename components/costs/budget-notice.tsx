import Link from "next/link";
import type { BudgetStateDto } from "@/lib/schemas/costs";

const TONE = {
  warn: "border-amber-300 bg-amber-50 text-amber-900",
  approval: "border-orange-300 bg-orange-50 text-orange-900",
  block: "border-red-300 bg-red-50 text-red-900",
} as const;

const TITLE = { warn: "Budget warning", approval: "Budget: a team lead's approval is needed", block: "Budget: new work is blocked" } as const;

/**
 * The banner a team's budget step shows where people start new work (launch form, deploy form, Costs page, team
 * page). When the viewer's new jobs and deploys would be refused it says so first, in the API error's own words.
 */
export function BudgetNotice({ budget, what = "jobs and deploys" }: { budget: BudgetStateDto; what?: string }) {
  if (budget.step === "ok" || !budget.message) return null;
  const step = budget.step;
  return (
    <div role={budget.viewer.refused ? "alert" : "status"} aria-label={`${budget.team} budget`} className={`rounded-md border px-3 py-2 text-sm ${TONE[step]}`}>
      <p className="font-semibold">{TITLE[step]} — team {budget.team}</p>
      {budget.viewer.refused && <p className="font-medium">You cannot start new {what} in team {budget.team} now.</p>}
      <p>{budget.message}</p>
      {step === "approval" && budget.viewer.can_extend && (
        <p>
          As a team lead you may start new work, or <Link href={`/costs?team=${budget.team}`} className="underline">grant an extension on the Costs page</Link>.
        </p>
      )}
    </div>
  );
}

/** The banners of every team in `budgets` that is past a step. */
export function BudgetNotices({ budgets, what }: { budgets: BudgetStateDto[]; what?: string }) {
  const shown = budgets.filter((b) => b.step !== "ok");
  if (shown.length === 0) return null;
  return <div className="space-y-2">{shown.map((b) => <BudgetNotice key={b.team} budget={b} what={what} />)}</div>;
}
