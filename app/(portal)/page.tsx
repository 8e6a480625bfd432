import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { formatRelative } from "@/lib/format";
import { ROLE_LABELS } from "@/lib/nav";
import { listApprovals } from "@/server/approvals/service";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { siteOrigin } from "@/server/auth/site-origin";
import { listTeams } from "@/server/teams/service";

export default async function HomePage() {
  const ctx = await requirePageCtx();
  const [teams, { approvals: pending }, origin] = await Promise.all([listTeams(ctx), listApprovals(ctx, { status: "pending", limit: 50 }), siteOrigin()]);
  const firstName = ctx.actor.name.split(" ")[0];
  const teamIds = new Map(ctx.actor.memberships.map((m) => [m.teamSlug, m.teamId]));
  // What waits on this user: requests they may decide (a lead of the team, not their own), and their own.
  const toDecide = pending.filter((a) => a.requested_by !== ctx.actor.email && (ctx.actor.isAdmin || can(ctx.actor, "approve_production", teamIds.get(a.team))));
  const mine = pending.filter((a) => a.requested_by === ctx.actor.email);
  return (
    <div className="space-y-6">
      <PageHeader title={`Welcome, ${firstName}`} description="Cairn runs your team's ML work: experiments, training, registry, deployments and costs." />
      {(toDecide.length > 0 || mine.length > 0) && (
        <Card title="Waiting on you">
          <ul className="divide-y divide-stone-100" aria-label="Waiting on you">
            {toDecide.map((a) => (
              <li key={a.id} className="flex flex-wrap items-center justify-between gap-2 py-2.5">
                <span className="text-sm text-stone-800">
                  <Link href={`/approvals/${a.id}`} className="font-medium text-teal-800 hover:underline">Decide: {a.model} v{a.version} to production</Link>
                  <span className="text-stone-500"> · {a.team} · asked by {a.requested_by} {formatRelative(a.created_at)}</span>
                </span>
                <Badge tone="amber">needs your decision</Badge>
              </li>
            ))}
            {mine.map((a) => (
              <li key={a.id} className="flex flex-wrap items-center justify-between gap-2 py-2.5">
                <span className="text-sm text-stone-800">
                  <Link href={`/approvals/${a.id}`} className="font-medium text-teal-800 hover:underline">Your request: {a.model} v{a.version} to production</Link>
                  <span className="text-stone-500"> · {a.team} · asked {formatRelative(a.created_at)}</span>
                </span>
                <Badge>waiting for a team lead</Badge>
              </li>
            ))}
          </ul>
        </Card>
      )}
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Your teams">
          {teams.length === 0 ? (
            <p className="text-sm text-stone-600">You are not in a team yet. Ask a team lead to add you, or an admin to create a team.</p>
          ) : (
            <ul className="divide-y divide-stone-100">
              {teams.map((t) => (
                <li key={t.slug} className="flex items-center justify-between py-2.5">
                  <div>
                    <Link href={`/teams/${t.slug}`} className="font-medium text-teal-800 hover:underline">{t.name}</Link>
                    <span className="ml-2 font-mono text-xs text-stone-500">{t.slug}</span>
                  </div>
                  {t.role ? <Badge tone="teal">{ROLE_LABELS[t.role]}</Badge> : <Badge>admin access</Badge>}
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Log from your own code" className="xl:col-span-2">
          <p className="text-sm text-stone-600">
            Create an API token under <Link className="text-teal-800 underline" href="/settings/tokens">Settings → API tokens</Link>, then:
          </p>
          <pre className="mt-3 overflow-x-auto rounded-md bg-stone-900 p-3 font-mono text-xs leading-relaxed text-stone-100">
{`export MLFLOW_TRACKING_URI=${origin}
export MLFLOW_TRACKING_TOKEN=cairn_…
curl -H "Authorization: Bearer $MLFLOW_TRACKING_TOKEN" \\
  $MLFLOW_TRACKING_URI/api/v1/me`}
          </pre>
          <p className="mt-2 text-xs text-stone-500">The official <code className="font-mono">mlflow</code> client logs here too: set the same two variables and use it unchanged.</p>
        </Card>
      </div>
    </div>
  );
}
