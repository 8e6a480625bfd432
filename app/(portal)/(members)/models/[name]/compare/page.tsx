import type { Metadata } from "next";
import Link from "next/link";
import { formatMetric } from "@/components/runs/format";
import { Badge } from "@/components/ui/badge";
import { PageHeader } from "@/components/ui/page-header";
import { EmptyRow, Table, Td, Th } from "@/components/ui/table";
import { modelHref } from "@/lib/registry-links";
import { forPage } from "@/server/auth/page";
import { requirePageCtx } from "@/server/auth/session";
import { compareVersions } from "@/server/registry/lineage";
import { notFound } from "next/navigation";
import { decodeSegment } from "@/lib/path-segment";

type Props = { params: Promise<{ name: string }>; searchParams: Promise<Record<string, string | undefined>> };

export const metadata: Metadata = { title: "Compare versions" };

function delta(values: (number | null)[]): string {
  const [a, b] = values;
  if (a === null || a === undefined || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b)) return "";
  const d = b - a;
  if (d === 0) return "±0";
  return `${d > 0 ? "+" : "−"}${formatMetric(Math.abs(d))}`;
}

export default async function CompareVersionsPage(props: Props) {
  const name = decodeSegment((await props.params).name) ?? notFound();
  const sp = await props.searchParams;
  const ctx = await requirePageCtx();
  const cmp = await forPage(compareVersions(ctx, name, [sp.a ?? "", sp.b ?? ""], { team: sp.team }));
  const { model, versions } = cmp;
  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="text-sm text-stone-500">
        <Link href="/models" className="hover:underline">Models</Link> <span aria-hidden>/</span>{" "}
        <Link href={modelHref(model.team, model.name)} className="hover:underline">{model.name}</Link> <span aria-hidden>/</span> Compare
      </nav>
      <PageHeader title={`${model.name}: v${versions[0]!.version} vs v${versions[1]!.version}`} description="Latest metrics and parameters of the runs each version was registered from." />
      <Table caption="Versions compared">
        <thead><tr><Th />{versions.map((v) => <Th key={v.version}><Link href={modelHref(model.team, model.name, v.version)} className="text-teal-800 hover:underline">Version {v.version}</Link></Th>)}</tr></thead>
        <tbody className="divide-y divide-stone-100">
          <tr><Td className="text-stone-600">Aliases</Td>{versions.map((v) => <Td key={v.version}>{v.aliases.map((a) => <Badge key={a} tone="teal" className="mr-1">@{a}</Badge>)}</Td>)}</tr>
          <tr><Td className="text-stone-600">Format</Td>{versions.map((v) => <Td key={v.version}>{v.format}</Td>)}</tr>
          <tr><Td className="text-stone-600">Source run</Td>{versions.map((v) => <Td key={v.version}>{v.run_id ? <Link href={`/runs/${v.run_id}`} className="text-teal-800 hover:underline">{v.run_name ?? v.run_id.slice(0, 12)}</Link> : "—"}</Td>)}</tr>
        </tbody>
      </Table>
      <section aria-labelledby="cmp-metrics" className="space-y-2">
        <h2 id="cmp-metrics" className="text-lg font-semibold text-stone-900">Metrics</h2>
        <Table caption="Metrics side by side">
          <thead><tr><Th>Metric</Th>{versions.map((v) => <Th key={v.version} className="text-right">v{v.version}</Th>)}<Th className="text-right">Change</Th></tr></thead>
          <tbody className="divide-y divide-stone-100">
            {cmp.metrics.length === 0 && <EmptyRow colSpan={versions.length + 2}>Neither run logged metrics.</EmptyRow>}
            {cmp.metrics.map((m) => (
              <tr key={m.key}>
                <Td className="font-mono text-xs">{m.key}</Td>
                {m.values.map((x, i) => <Td key={i} className="text-right font-mono text-xs">{x === null ? "—" : formatMetric(x)}</Td>)}
                <Td className="text-right font-mono text-xs text-stone-600">{delta(m.values)}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </section>
      <section aria-labelledby="cmp-params" className="space-y-2">
        <h2 id="cmp-params" className="text-lg font-semibold text-stone-900">Parameters</h2>
        <Table caption="Parameters side by side">
          <thead><tr><Th>Parameter</Th>{versions.map((v) => <Th key={v.version}>v{v.version}</Th>)}</tr></thead>
          <tbody className="divide-y divide-stone-100">
            {cmp.params.length === 0 && <EmptyRow colSpan={versions.length + 1}>Neither run logged parameters.</EmptyRow>}
            {cmp.params.map((p) => (
              <tr key={p.key} className={p.differs ? "bg-amber-50" : undefined} data-differs={p.differs || undefined}>
                <Td className="font-mono text-xs">{p.key}{p.differs && <span className="sr-only"> (differs)</span>}</Td>
                {p.values.map((x, i) => <Td key={i} className="font-mono text-xs break-all">{x ?? "—"}</Td>)}
              </tr>
            ))}
          </tbody>
        </Table>
      </section>
    </div>
  );
}
