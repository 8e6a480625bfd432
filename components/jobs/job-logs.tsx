"use client";

import { useEffect, useRef, useState } from "react";

const MAX_LINES = 5000;
const LINE_HASH = /^#log-L(\d+)$/;

/**
 * The job's output, live: an EventSource that follows new lines and resumes after a reconnect. Each line has an
 * anchor (#log-L<n>, its 1-based line in the whole log) that a failure banner links to.
 */
export function JobLogs({ jobId, active }: { jobId: string; active: boolean }) {
  // `first`: the line number of lines[0] (earlier lines beyond MAX_LINES are dropped from view).
  const [log, setLog] = useState<{ lines: string[]; first: number }>({ lines: [], first: 1 });
  const [state, setState] = useState<"connecting" | "live" | "ended" | "reconnecting">("connecting");
  const [follow, setFollow] = useState(true);
  const [target, setTarget] = useState<number | null>(null);
  const box = useRef<HTMLPreElement>(null);
  const shown = useRef<number | null>(null);

  useEffect(() => {
    const source = new EventSource(`/api/v1/jobs/${jobId}/logs?follow=true`);
    source.onopen = () => setState("live");
    source.onmessage = (e: MessageEvent<string>) =>
      setLog((prev) => {
        const all = [...prev.lines, ...e.data.split("\n")];
        const drop = Math.max(0, all.length - MAX_LINES);
        return { lines: all.slice(drop), first: prev.first + drop };
      });
    source.addEventListener("end", () => { setState("ended"); source.close(); });
    // EventSource reconnects by itself, sending Last-Event-ID so the stream resumes where it stopped.
    source.onerror = () => setState((s) => (s === "ended" ? s : "reconnecting"));
    return () => source.close();
  }, [jobId]);

  // A link to a line (#log-L42): stop following, and show that line once it has arrived.
  useEffect(() => {
    const read = () => {
      const m = LINE_HASH.exec(window.location.hash);
      if (!m) return;
      shown.current = null;
      setFollow(false);
      setTarget(Number(m[1]));
    };
    read();
    window.addEventListener("hashchange", read);
    return () => window.removeEventListener("hashchange", read);
  }, []);

  useEffect(() => {
    if (target !== null && shown.current !== target) {
      const el = document.getElementById(`log-L${target}`);
      if (el && box.current) {
        shown.current = target;
        box.current.scrollTop = el.offsetTop - box.current.clientHeight / 2;
        box.current.scrollIntoView({ block: "nearest" });
      }
      return;
    }
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [log, follow, target]);

  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center justify-between gap-2 text-sm">
        <span className="text-stone-600" role="status">
          {state === "live" ? (active ? "Following live output…" : "Output") : state === "ended" ? "Job finished; output complete." : state === "reconnecting" ? "Connection lost; reconnecting…" : "Connecting…"}
        </span>
        <span className="flex items-center gap-3">
          <label className="flex items-center gap-1.5 text-stone-700"><input type="checkbox" checked={follow} onChange={(e) => { setFollow(e.target.checked); if (e.target.checked) setTarget(null); }} /> Follow</label>
          <a href={`/api/v1/jobs/${jobId}/logs`} className="text-teal-800 underline" download>Download log</a>
        </span>
      </div>
      <pre ref={box} data-testid="job-log" aria-label="Job output" className="relative h-96 overflow-auto rounded-lg bg-stone-950 p-3 font-mono text-xs leading-relaxed text-stone-100">
        {log.lines.length === 0
          ? <span className="text-stone-400">No output yet.</span>
          : log.lines.map((line, i) => {
            const n = log.first + i;
            return (
              <span key={n} id={`log-L${n}`} aria-current={n === target ? "location" : undefined} className={n === target ? "bg-red-900/70 text-white" : undefined}>
                {line}{i < log.lines.length - 1 ? "\n" : ""}
              </span>
            );
          })}
      </pre>
    </div>
  );
}
