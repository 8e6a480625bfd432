"use client";

import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import type { ReactNode } from "react";
import type { RegisterModelAction } from "@/components/registry/register-model";
import { RegisterModel } from "@/components/registry/register-model";

type Entry = { path: string; is_dir: boolean; file_size?: number };
type Preview = { kind: string; path: string; size: number; text: string | null; truncated: boolean };

async function list(runId: string, path: string): Promise<Entry[]> {
  const res = await fetch(`/ajax-api/2.0/mlflow/artifacts/list?${new URLSearchParams({ run_id: runId, path })}`);
  const body = (await res.json()) as { files?: Entry[]; message?: string };
  if (!res.ok) throw new Error(body.message ?? "Could not list artifacts");
  return body.files ?? [];
}

function size(n?: number): string {
  if (n === undefined) return "";
  return n < 1024 ? `${n} B` : n < 1024 ** 2 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1024 ** 2).toFixed(1)} MB`;
}

const IMAGE = /\.(png|jpe?g|gif|webp)$/i;

function Dir({ runId, path, selected, onSelect, depth }: { runId: string; path: string; selected?: string; onSelect: (e: Entry) => void; depth: number }) {
  const { data, error, isLoading } = useQuery({ queryKey: ["artifacts", runId, path], queryFn: () => list(runId, path) });
  const [open, setOpen] = useState<Record<string, boolean>>({});
  if (isLoading) return <li className="px-2 py-1 text-xs text-stone-500">Loading…</li>;
  if (error) return <li role="alert" className="px-2 py-1 text-xs text-red-700">{(error as Error).message}</li>;
  if (!data?.length) return depth === 0 ? <li className="px-2 py-1 text-sm text-stone-500">No artifacts. Log some with mlflow.log_artifact().</li> : null;
  return (
    <>
      {data.map((e) => (
        <li key={e.path}>
          <button
            type="button"
            onClick={() => (e.is_dir ? setOpen((o) => ({ ...o, [e.path]: !o[e.path] })) : onSelect(e))}
            aria-expanded={e.is_dir ? !!open[e.path] : undefined}
            aria-current={selected === e.path ? "true" : undefined}
            className={`flex w-full items-center justify-between gap-2 rounded px-2 py-1 text-left text-sm hover:bg-stone-100 ${selected === e.path ? "bg-teal-50 text-teal-900" : "text-stone-800"}`}
            style={{ paddingLeft: 8 + depth * 14 }}
          >
            <span className="truncate font-mono text-xs">{e.is_dir ? (open[e.path] ? "▾ " : "▸ ") : ""}{e.path.split("/").pop()}</span>
            <span className="shrink-0 text-xs text-stone-400">{size(e.file_size)}</span>
          </button>
          {e.is_dir && open[e.path] && <ul><Dir runId={runId} path={e.path} selected={selected} onSelect={onSelect} depth={depth + 1} /></ul>}
        </li>
      ))}
    </>
  );
}

/** A model folder is one holding an MLmodel file or an ONNX graph: registering picks the folder. */
function modelFolder(path: string): string | null {
  const name = path.split("/").pop() ?? path;
  return name === "MLmodel" || /\.onnx$/i.test(name) ? path.split("/").slice(0, -1).join("/") : null;
}

type Registration = { modelNames: string[]; register: RegisterModelAction };

function PreviewPane({ runId, entry, downloadBase, registration }: { runId: string; entry: Entry; downloadBase: string; registration?: Registration }) {
  const url = `/api/v1/runs/${runId}/artifacts/preview?${new URLSearchParams({ path: entry.path })}`;
  const isImage = IMAGE.test(entry.path);
  const { data, error, isLoading } = useQuery({
    queryKey: ["artifact-preview", runId, entry.path],
    queryFn: async (): Promise<Preview> => {
      const res = await fetch(url);
      const body = (await res.json()) as Preview & { error?: { message: string } };
      if (!res.ok) throw new Error(body.error?.message ?? "Could not preview");
      return body;
    },
    enabled: !isImage,
  });
  const download = `${downloadBase}/${entry.path.split("/").map(encodeURIComponent).join("/")}`;
  let body: ReactNode = null;
  if (isImage) {
    // eslint-disable-next-line @next/next/no-img-element -- an artifact from our own API, not a static asset
    body = <img src={url} alt={entry.path} className="max-h-[60vh] max-w-full rounded border border-stone-200" />;
  } else if (isLoading) body = <p className="text-sm text-stone-500">Loading preview…</p>;
  else if (error) body = <p role="alert" className="text-sm text-red-700">{(error as Error).message}</p>;
  else if (data?.kind === "binary" || data?.text === null) body = <p className="text-sm text-stone-600">No preview for this file type; download it instead.</p>;
  else if (data?.kind === "csv") body = <CsvTable text={data.text ?? ""} />;
  else if (data) {
    let text = data.text ?? "";
    if (data.kind === "json") { try { text = JSON.stringify(JSON.parse(text), null, 2); } catch { /* show as is */ } }
    body = <pre className="max-h-[60vh] overflow-auto rounded bg-stone-50 p-3 font-mono text-xs whitespace-pre-wrap text-stone-800" data-testid="artifact-text">{text}</pre>;
  }
  const folder = modelFolder(entry.path);
  return (
    <div className="min-w-0 flex-1 space-y-2">
      <div className="flex items-center justify-between gap-2">
        <span className="truncate font-mono text-sm text-stone-800">{entry.path}</span>
        <a href={download} className="text-sm text-teal-800 underline" download>Download</a>
      </div>
      {registration && folder !== null && <RegisterModel key={folder} runId={runId} path={folder} {...registration} />}
      {data?.truncated && <p className="text-xs text-amber-700">Preview shows the first 512 KB.</p>}
      <div data-testid="artifact-preview">{body}</div>
    </div>
  );
}

function CsvTable({ text }: { text: string }) {
  const rows = text.split(/\r?\n/).filter(Boolean).slice(0, 200).map((l) => l.split(","));
  const [head, ...rest] = rows;
  return (
    <div className="max-h-[60vh] overflow-auto rounded border border-stone-200">
      <table className="min-w-full text-xs">
        <thead><tr>{head?.map((h, i) => <th key={i} className="bg-stone-50 px-2 py-1 text-left font-semibold">{h}</th>)}</tr></thead>
        <tbody>{rest.map((r, i) => <tr key={i} className="border-t border-stone-100">{r.map((c, j) => <td key={j} className="px-2 py-1 font-mono">{c}</td>)}</tr>)}</tbody>
      </table>
    </div>
  );
}

export function ArtifactBrowser({ runId, downloadBase, registration }: { runId: string; downloadBase: string; registration?: Registration }) {
  const [selected, setSelected] = useState<Entry>();
  return (
    <div className="flex flex-col gap-4 lg:flex-row">
      <ul className="w-full shrink-0 space-y-0.5 lg:w-72" aria-label="Artifacts">
        <Dir runId={runId} path="" selected={selected?.path} onSelect={setSelected} depth={0} />
      </ul>
      {selected ? <PreviewPane runId={runId} entry={selected} downloadBase={downloadBase} registration={registration} /> : <p className="text-sm text-stone-500">Select a file to preview it.</p>}
    </div>
  );
}
