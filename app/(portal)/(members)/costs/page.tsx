import type { Metadata } from "next";
import { AllocationSection } from "@/components/costs/allocation-section";
import { BudgetBars } from "@/components/costs/budget-bars";
import { BudgetNotices } from "@/components/costs/budget-notice";
import { CostFilters } from "@/components/costs/cost-filters";
import { CostTotalsTable } from "@/components/costs/cost-totals-table";
import { SpendOverTime } from "@/components/costs/spend-over-time";
import { COST_GROUPS } from "@/components/costs/types";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { ALLOCATION_GROUPINGS, costsQuery } from "@/lib/schemas/costs";
import type { AllocationDto, AllocationGrouping } from "@/lib/schemas/costs";
import { pageTeamScope, requirePageCtx } from "@/server/auth/session";
import type { Costs } from "@/server/costs/service";
import { getAllocation } from "@/server/costs/allocation";
import { duration, getCosts } from "@/server/costs/service";
import { isAppError } from "@/server/errors";
import { listTeams } from "@/server/teams/service";
import { grantBudgetExtensionAction } from "./actions";

export const metadata: Metadata = { title: "Costs" };

const DEFAULT_WINDOW = "30d";

export default async function CostsPage(props: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const sp = await props.searchParams;
  const one = (k: string) => (typeof sp[k] === "string" && sp[k] !== "" ? sp[k] : undefined);
  const ctx = await requirePageCtx();
  // The portal's team scope (?team=, else the team one works in); "all" lifts it.
  const scope = await pageTeamScope(ctx, one("team"));
  const values = { window: one("window") ?? DEFAULT_WINDOW, aggregate: one("aggregate") ?? "team", team: scope ?? "all" };
  const parsed = costsQuery.safeParse({ window: values.window, aggregate: values.aggregate, team: scope ?? undefined });
  // A hand-edited URL (window=0d, a team one cannot see) gets the service's message, not an error page.
  const answer = parsed.success
    ? getCosts(ctx, { ...parsed.data, step: "1d" }).then(
        (costs): { costs: Costs; error?: undefined } => ({ costs }),
        (err: unknown) => {
          if (isAppError(err) && (err.code === "invalid_input" || err.code === "not_found")) return { costs: null, error: err.message };
          throw err;
        },
      )
    : Promise.resolve({ costs: null, error: parsed.error.issues.map((i) => i.message).join("; ") });
  const [teams, { costs, error }] = await Promise.all([listTeams(ctx), answer]);
  const by = (ALLOCATION_GROUPINGS as readonly string[]).includes(one("by") ?? "") ? (one("by") as AllocationGrouping) : "team";
  const allocation = costs ? await allocations(ctx, { by, window: costs.window, team: scope ?? undefined }) : null;
  const groupLabel = COST_GROUPS.find((g) => g.value === costs?.aggregate)?.label ?? "Team";
  return (
    <div className="space-y-4">
      <PageHeader
        title="Costs"
        description={
          <>
            What {ctx.actor.isAdmin ? "every team" : "your teams"} spent on compute. Jobs are charged their runtime × the instance type&apos;s hourly
            price; deployments, replicas × time served × the replica price. The meter adds new charges every minute.
          </>
        }
      />
      <CostFilters values={values} teams={teams.map((t) => t.slug)} allLabel={ctx.actor.isAdmin ? "all teams" : teams.length === 1 ? "my team" : "all my teams"} />
      {costs && <BudgetNotices budgets={costs.budgets} />}
      {error && <p role="alert" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">{error}</p>}
      {costs && (
        <div className="grid gap-6 xl:grid-cols-3">
          <div className="space-y-6 xl:col-span-2">
            <Card title="Spend over time">
              <SpendOverTime series={costs.series.map((x) => ({ ...x, key: costs.labels[x.key] ?? x.key }))} groupLabel={groupLabel} />
            </Card>
            <section aria-labelledby="totals-heading" className="space-y-2">
              <h2 id="totals-heading" className="text-sm font-semibold text-stone-900">Cost by {groupLabel.toLowerCase()} · last {costs.window}</h2>
              <CostTotalsTable group={costs.aggregate} groupLabel={groupLabel} totals={costs.totals} labels={costs.labels} />
            </section>
          </div>
          <div>
            <Card title="Budgets">
              <BudgetBars budgets={costs.budgets} grant={grantBudgetExtensionAction} />
            </Card>
          </div>
        </div>
      )}
      {allocation && <AllocationSection {...allocation} keep={{ window: values.window, aggregate: values.aggregate, team: values.team }} team={scope ?? undefined} />}
    </div>
  );
}

/** The allocation views over the page's window: the chosen grouping, teams (for efficiency), model versions and runs. */
async function allocations(ctx: Awaited<ReturnType<typeof requirePageCtx>>, opts: { by: AllocationGrouping; window: string; team?: string }) {
  const to = new Date();
  const from = new Date(to.getTime() - duration(opts.window, "window", 3600, 400 * 86_400) * 1000);
  const of = (by: AllocationGrouping): Promise<AllocationDto> => getAllocation(ctx, { by, from: from.toISOString(), to: to.toISOString(), team: opts.team }, to);
  const [allocation, byTeam, perVersion, perRun] = await Promise.all([of(opts.by), opts.by === "team" ? null : of("team"), of("model_version"), of("run")]);
  return { allocation, byTeam, perVersion, perRun };
}
