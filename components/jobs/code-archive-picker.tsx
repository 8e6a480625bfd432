"use client";

import { useId, useState } from "react";
import { formatBytes } from "./format";

/** An uploaded code archive as POST /api/v1/code-archives answers it. */
export type CodeArchiveInfo = {
  id: string; team: string; filename: string; format: "zip" | "tar.gz"; size_bytes: number; files: number; default_command: string[] | null;
};

/**
 * The launch form's "Upload archive" choice: picks a zip or .tar.gz, uploads it to the experiment's team
 * (the server checks it in full), and shows what it holds or why it was refused.
 */
export function CodeArchivePicker({ team, archive, onChange }: {
  team: string | null;
  archive: CodeArchiveInfo | null;
  onChange: (archive: CodeArchiveInfo | null) => void;
}) {
  const inputId = useId();
  const [error, setError] = useState<string>();
  const [uploading, setUploading] = useState(false);

  async function upload(file: File) {
    if (!team) return;
    setError(undefined);
    setUploading(true);
    onChange(null);
    try {
      const form = new FormData();
      form.set("file", file, file.name);
      const res = await fetch(`/api/v1/code-archives?team=${encodeURIComponent(team)}`, { method: "POST", body: form });
      const body = (await res.json().catch(() => null)) as (CodeArchiveInfo & { error?: { message?: string } }) | null;
      if (!res.ok || !body) setError(body?.error?.message ?? `The upload failed (HTTP ${res.status}).`);
      else onChange(body);
    } catch {
      setError("The upload did not reach Cairn; check the connection and try again.");
    } finally {
      setUploading(false);
    }
  }

  return (
    <div className="space-y-2 rounded-md border border-stone-200 bg-stone-50 p-3">
      <label htmlFor={inputId} className="block text-sm font-medium text-stone-800">Code archive (zip or .tar.gz)</label>
      <input
        id={inputId}
        type="file"
        accept=".zip,.tar.gz,.tgz,application/zip,application/gzip"
        disabled={!team || uploading}
        aria-describedby={`${inputId}-help ${inputId}-status`}
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) void upload(file);
        }}
        className="block w-full text-sm file:mr-3 file:rounded-md file:border file:border-stone-300 file:bg-white file:px-2.5 file:py-1 file:text-sm"
      />
      <p id={`${inputId}-help`} className="text-xs text-stone-500">
        {team
          ? `Uploaded to team ${team}. A cairn.json at its root ({"command": [...]}) gives the default command; a single top-level folder is unwrapped.`
          : "Choose an experiment first: the archive belongs to its team."}
      </p>
      <div id={`${inputId}-status`} aria-live="polite">
        {uploading && <p className="text-sm text-stone-600">Uploading and checking…</p>}
        {error && <p role="alert" className="text-sm text-red-700">{error}</p>}
        {archive && (
          <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-0.5 text-sm" data-testid="code-archive">
            <dt className="text-stone-600">File</dt><dd className="font-mono break-all">{archive.filename}</dd>
            <dt className="text-stone-600">Size</dt><dd>{formatBytes(archive.size_bytes)} · {archive.files} {archive.files === 1 ? "file" : "files"}</dd>
            <dt className="text-stone-600">Default command</dt>
            <dd className="font-mono text-xs break-all">{archive.default_command ? archive.default_command.join(" ") : "none (no cairn.json): enter a command"}</dd>
          </dl>
        )}
      </div>
    </div>
  );
}
