import { KeyValueList } from "@/components/ui/key-value-list";
import { formatUsd } from "@/lib/format";

export type CostEvidence = { replica_hourly_usd: number; priced_as: string | null; current_monthly_usd: number; candidate_monthly_usd: number; monthly_change_usd: number };

/** What production costs a month now, what it would cost with the candidate, and the difference. */
export function CostSummary({ cost, candidateReplicas, currentReplicas }: { cost: CostEvidence; candidateReplicas: number; currentReplicas: number | null }) {
  const change = cost.monthly_change_usd;
  const changeText = change === 0 ? "no change" : `${change > 0 ? "+" : "−"}${formatUsd(Math.abs(change))} a month`;
  return (
    <div className="space-y-3">
      <KeyValueList
        items={[
          ["Current monthly", currentReplicas === null ? `${formatUsd(cost.current_monthly_usd)} (nothing serving)` : `${formatUsd(cost.current_monthly_usd)} (${currentReplicas} replica${currentReplicas === 1 ? "" : "s"})`],
          ["Candidate monthly", `${formatUsd(cost.candidate_monthly_usd)} (${candidateReplicas} replica${candidateReplicas === 1 ? "" : "s"})`],
          ["Change per month", <span key="c" className={change > 0 ? "font-medium text-red-700" : change < 0 ? "font-medium text-emerald-700" : "text-stone-700"}>{changeText}</span>],
        ]}
      />
      <p className="text-xs text-stone-500">
        {cost.priced_as
          ? <>Priced as {cost.priced_as} at {formatUsd(cost.replica_hourly_usd)}/h per replica, 730 hours a month; figures as of the request.</>
          : <>No CPU instance type has a price yet, so serving is counted as free; an admin sets prices under Admin.</>}
      </p>
    </div>
  );
}
