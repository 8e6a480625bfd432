"use client";

import { useEffect, useRef, useState } from "react";

const MAX_LINES = 5000;

/** The job's output, live: an EventSource that follows new lines and resumes after a reconnect. */
export function JobLogs({ jobId, active }: { jobId: string; active: boolean }) {
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState<"connecting" | "live" | "ended" | "reconnecting">("connecting");
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const source = new EventSource(`/api/v1/jobs/${jobId}/logs?follow=true`);
    source.onopen = () => setState("live");
    source.onmessage = (e: MessageEvent<string>) => setLines((prev) => [...prev, ...e.data.split("\n")].slice(-MAX_LINES));
    source.addEventListener("end", () => { setState("ended"); source.close(); });
    // EventSource reconnects by itself, sending Last-Event-ID so the stream resumes where it stopped.
    source.onerror = () => setState((s) => (s === "ended" ? s : "reconnecting"));
    return () => source.close();
  }, [jobId]);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [lines, follow]);

  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-2 text-sm">
        <span className="text-stone-600" role="status">
          {state === "live" ? (active ? "Following live output…" : "Output") : state === "ended" ? "Job finished; output complete." : state === "reconnecting" ? "Connection lost; reconnecting…" : "Connecting…"}
        </span>
        <span className="flex items-center gap-3">
          <label className="flex items-center gap-1.5 text-stone-700"><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> Follow</label>
          <a href={`/api/v1/jobs/${jobId}/logs`} className="text-teal-800 underline" download>Download log</a>
        </span>
      </div>
      <pre ref={box} data-testid="job-log" aria-label="Job output" className="h-96 overflow-auto rounded-lg bg-stone-950 p-3 font-mono text-xs leading-relaxed text-stone-100">
        {lines.length === 0 ? <span className="text-stone-400">No output yet.</span> : lines.join("\n")}
      </pre>
    </div>
  );
}
