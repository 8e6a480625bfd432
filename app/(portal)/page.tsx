import Link from "next/link";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { PageHeader } from "@/components/ui/page-header";
import { ROLE_LABELS } from "@/lib/nav";
import { requirePageCtx } from "@/server/auth/session";
import { listTeams } from "@/server/teams/service";

export default async function HomePage() {
  const ctx = await requirePageCtx();
  const teams = await listTeams(ctx);
  const firstName = ctx.actor.name.split(" ")[0];
  return (
    <div className="space-y-6">
      <PageHeader title={`Welcome, ${firstName}`} description="Cairn runs your team's ML work: experiments, training, registry, deployments and costs." />
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Your teams" className="xl:col-span-2">
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
        <Card title="Log from your own code">
          <p className="text-sm text-stone-600">
            Create an API token under <Link className="text-teal-800 underline" href="/settings/tokens">Settings → API tokens</Link>, then:
          </p>
          <pre className="mt-3 overflow-x-auto rounded-md bg-stone-900 p-3 font-mono text-xs leading-relaxed text-stone-100">
{`export MLFLOW_TRACKING_URI=<this site's URL>
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
