import type { Metadata } from "next";
import { PageHeader } from "@/components/ui/page-header";
import { TeamSummaryTable } from "@/components/teams/team-summary-table";
import { requirePageCtx } from "@/server/auth/session";
import { teamSummaries } from "@/server/teams/summary";

export const metadata: Metadata = { title: "Teams" };

export default async function TeamsPage() {
  const ctx = await requirePageCtx();
  const teams = await teamSummaries(ctx);
  return (
    <div className="space-y-2">
      <PageHeader
        title="Teams"
        description={ctx.actor.isAdmin ? "Every team on the platform. Create teams from Admin." : "The teams you belong to and your role in each."}
      />
      <TeamSummaryTable caption="Teams" teams={teams} showRole empty="You are in no team yet. Ask a team lead to add you." />
      <p className="text-xs text-stone-500">
        In use now (admitted and running jobs, live deployments) of each team&apos;s quota; spend is month to date, calendar month in UTC, against the monthly budget.
      </p>
    </div>
  );
}
