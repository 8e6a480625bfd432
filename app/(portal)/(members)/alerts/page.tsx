import type { Metadata } from "next";
import { AlertRuleForm } from "@/components/alerts/alert-rule-form";
import { ActiveAlerts, AlertHistory, AlertRulesTable } from "@/components/alerts/alert-tables";
import { RefreshWhile } from "@/components/ui/refresh-while";
import { PageHeader } from "@/components/ui/page-header";
import { listAlertRules, listAlerts } from "@/server/alerts/service";
import { can } from "@/server/auth/policy";
import { pageTeamScope, requirePageCtx } from "@/server/auth/session";
import { listDeployments } from "@/server/deployments/service";
import { acknowledgeAlertAction, createAlertRuleAction, deleteAlertRuleAction, silenceAlertRuleAction } from "./actions";

export const metadata: Metadata = { title: "Alerts" };

export default async function AlertsPage(props: { searchParams: Promise<Record<string, string | undefined>> }) {
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  // The portal's team scope (?team=, else the team one works in); "all" lifts it.
  const scope = await pageTeamScope(ctx, sp.team);
  const team = scope ?? undefined;
  const [{ alert_rules: rules }, { alerts, history }, { deployments }] = await Promise.all([
    listAlertRules(ctx, { team }), listAlerts(ctx, { team }), listDeployments(ctx, { team }),
  ]);
  // The create form offers the teams where the viewer may manage alerts, the scoped one first.
  const writable = ctx.actor.memberships.filter((m) => can(ctx.actor, "write_data", m.teamId)).map((m) => m.teamSlug);
  if (ctx.actor.isAdmin && scope && !writable.includes(scope)) writable.push(scope);
  const teams = scope && writable.includes(scope) ? [scope, ...writable.filter((t) => t !== scope)] : writable;
  const active = alerts.filter((a) => a.state !== "resolved");
  return (
    <div className="space-y-6">
      <RefreshWhile active everyMs={10_000} />
      <PageHeader
        title="Alerts"
        description={
          <>
            Rules on a deployment&apos;s p99 latency or error share, failed jobs, budget share and quota saturation. The alerts worker reads each rule
            every 30 seconds: a breach is <em>pending</em>, then <em>firing</em> once it has lasted the rule&apos;s “for” duration, and <em>resolved</em> when
            it ends. Firing and resolved are sent to the rule&apos;s webhooks and email addresses; acknowledge an alert to stop its repeats, or silence a rule for a while.
          </>
        }
      />
      <ActiveAlerts alerts={active} acknowledge={acknowledgeAlertAction} />
      <AlertRulesTable rules={rules} silence={silenceAlertRuleAction} remove={deleteAlertRuleAction} />
      {teams.length > 0 && (
        <AlertRuleForm teams={teams} deployments={deployments.map((d) => ({ id: d.deployment_id, team: d.team, label: `${d.model} v${d.version} (${d.environment}, ${d.status})` }))} create={createAlertRuleAction} />
      )}
      <AlertHistory history={history} />
    </div>
  );
}
