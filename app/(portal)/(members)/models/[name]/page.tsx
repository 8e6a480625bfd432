import type { Metadata } from "next";
import Link from "next/link";
import { AliasPanel } from "@/components/registry/alias-panel";
import { DeployedBadge } from "@/components/deployments/deployed-badge";
import { Badge } from "@/components/ui/badge";
import { buttonClass } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { MarkdownEditor } from "@/components/ui/markdown-editor";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { formatDateTime, formatRelative } from "@/lib/format";
import { modelHref } from "@/lib/registry-links";
import { forPage } from "@/server/auth/page";
import { can } from "@/server/auth/policy";
import { requirePageCtx } from "@/server/auth/session";
import { getModelDetail } from "@/server/registry/lineage";
import { deleteAliasAction, describeModel, setAliasAction } from "./actions";
import { notFound } from "next/navigation";
import { decodeSegment } from "@/lib/path-segment";
import { PathCode } from "@/components/ui/path-code";

type Props = { params: Promise<{ name: string }>; searchParams: Promise<Record<string, string | undefined>> };

export async function generateMetadata(props: Props): Promise<Metadata> {
  return { title: `Model ${decodeSegment((await props.params).name) ?? notFound()}` };
}

export default async function ModelPage(props: Props) {
  const name = decodeSegment((await props.params).name) ?? notFound();
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const model = await forPage(getModelDetail(ctx, name, { team: sp.team }));
  const teamId = ctx.actor.isAdmin ? undefined : ctx.actor.memberships.find((m) => m.teamSlug === model.team)?.teamId;
  const canEdit = ctx.actor.isAdmin || can(ctx.actor, "train_model", teamId);
  const [newest, previous] = model.versions;
  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/models" className="hover:underline">Models</Link> <span aria-hidden>/</span> {model.name}
      </nav>
      <PageHeader
        title={model.name}
        description={<>Team <span className="font-mono">{model.team}</span> · {model.versions.length} version{model.versions.length === 1 ? "" : "s"} · load with <code className="font-mono text-xs">models:/{model.name}@&lt;alias&gt;</code></>}
      />
      <div className="grid items-start gap-6 xl:grid-cols-3">
        <Card title="Description" className="xl:col-span-2">
          <MarkdownEditor target={{ team: model.team, name: model.name }} value={model.description} canEdit={canEdit} save={describeModel} noun="description" />
        </Card>
        <Card title="Aliases">
          <AliasPanel
            team={model.team} name={model.name} aliases={model.aliases} protectedAliases={model.protected_aliases}
            versions={model.versions.map((v) => v.version)} canEdit={canEdit} setAlias={setAliasAction} deleteAlias={deleteAliasAction}
          />
          <div className="mt-4 border-t border-stone-100 pt-3 text-sm">
            <h3 className="text-xs font-medium text-stone-600">Deployed</h3>
            {model.deployed.length === 0
              ? <p className="mt-1 text-stone-500">Not deployed. Deploy a version from its page.</p>
              : (
                <ul className="mt-1 flex flex-wrap gap-1" aria-label="Where deployed">
                  {model.deployed.map((d) => (
                    <li key={d.deployment_id}><DeployedBadge d={d} /></li>
                  ))}
                </ul>
              )}
          </div>
          <div className="mt-4 border-t border-stone-100 pt-3 text-sm">
            <h3 className="text-xs font-medium text-stone-600">Endpoints</h3>
            <p className="mt-1 text-xs text-stone-500">One address per environment: it reaches whichever deployment serves that environment and survives promotions and rollbacks. Call it with a token of team <span className="font-mono">{model.team}</span>.</p>
            <ul className="mt-1 space-y-1" aria-label="Endpoints">
              {model.endpoints.map((e) => (
                <li key={e.environment}>
                  <span className="text-stone-700">{e.environment}</span>{" "}
                  <PathCode path={e.endpoint} />{" "}
                  {e.deployment_id
                    ? <Link href={`/deployments/${e.deployment_id}`} className="text-xs text-teal-800 underline">serves v{e.version}</Link>
                    : <span className="text-xs text-stone-400">nothing serves it</span>}
                </li>
              ))}
            </ul>
          </div>
        </Card>
      </div>
      <section aria-labelledby="versions-heading" className="space-y-2">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <h2 id="versions-heading" className="text-lg font-semibold text-stone-900">Versions</h2>
          {newest && previous && (
            <form method="get" action={`/models/${encodeURIComponent(model.name)}/compare`} className="flex items-end gap-2" aria-label="Compare versions">
              <input type="hidden" name="team" value={model.team} />
              <label className="text-xs text-stone-600">Compare
                <select name="a" defaultValue={previous.version} className="ml-1 rounded-md border border-stone-300 px-2 py-1 text-sm" aria-label="First version">
                  {model.versions.map((v) => <option key={v.version} value={v.version}>v{v.version}</option>)}
                </select>
              </label>
              <label className="text-xs text-stone-600">with
                <select name="b" defaultValue={newest.version} className="ml-1 rounded-md border border-stone-300 px-2 py-1 text-sm" aria-label="Second version">
                  {model.versions.map((v) => <option key={v.version} value={v.version}>v{v.version}</option>)}
                </select>
              </label>
              <button type="submit" className={buttonClass("secondary", "sm")}>Compare</button>
            </form>
          )}
        </div>
        <Table caption="Versions">
          <thead>
            <tr><Th>Version</Th><Th>Aliases</Th><Th>Serves</Th><Th>Format</Th><Th>Source run</Th><Th>Registered by</Th><Th>Registered</Th></tr>
          </thead>
          <tbody className="divide-y divide-stone-100">
            {model.versions.length === 0 && <EmptyRow colSpan={7}>No versions yet. Register one from a run&apos;s artifacts.</EmptyRow>}
            {model.versions.map((v) => (
              <tr key={v.version} className="hover:bg-stone-50">
                <Td><Link href={modelHref(model.team, model.name, v.version)} className="font-medium text-teal-800 hover:underline">Version {v.version}</Link></Td>
                <Td><div className="flex flex-wrap gap-1">{v.aliases.map((a) => <Badge key={a} tone={model.protected_aliases.includes(a) ? "green" : "teal"}>@{a}</Badge>)}</div></Td>
                <Td>
                  {/* What serves where: environments, from the live deployments. MLflow's stages are labels of its API only. */}
                  <div className="flex flex-wrap gap-1">
                    {model.deployed.filter((d) => d.version === v.version).map((d) => <DeployedBadge key={d.deployment_id} d={d} />)}
                    {!model.deployed.some((d) => d.version === v.version) && <span className="text-stone-400">—</span>}
                  </div>
                </Td>
                <Td><Badge tone={v.format === "onnx" ? "blue" : "neutral"}>{v.format}</Badge></Td>
                <Td>{v.run_id ? <Link href={`/runs/${v.run_id}`} className="font-mono text-xs text-teal-800 hover:underline">{v.run_id.slice(0, 12)}…</Link> : <span className="text-stone-400">—</span>}</Td>
                <Td className="text-stone-700">{v.user}</Td>
                <Td className="text-stone-600" title={formatDateTime(v.created_at)}>{formatRelative(v.created_at)}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </section>
      <section aria-labelledby="alias-history-heading" className="space-y-2">
        <h2 id="alias-history-heading" className="text-lg font-semibold text-stone-900">Alias history</h2>
        <Table caption="Alias history">
          <thead><tr><Th>When</Th><Th>Alias</Th><Th>Change</Th><Th>Who</Th><Th>How</Th></tr></thead>
          <tbody className="divide-y divide-stone-100">
            {model.alias_history.length === 0 && <EmptyRow colSpan={5}>No alias has been set yet.</EmptyRow>}
            {model.alias_history.map((e, i) => (
              <tr key={i}>
                <Td className="text-stone-600">{formatDateTime(new Date(e.time).toISOString())}</Td>
                <Td><Badge tone="teal">@{e.alias}</Badge></Td>
                <Td>{e.to_version === null ? `removed from v${e.from_version}` : e.from_version === null ? `set to v${e.to_version}` : `moved v${e.from_version} → v${e.to_version}`}</Td>
                <Td className="text-stone-700">{e.actor}</Td>
                <Td className="text-stone-500">{e.via === "api" ? "by hand" : e.via}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </section>
    </div>
  );
}
