"use client";

import { useRouter } from "next/navigation";
import { useEffect } from "react";

/**
 * Keeps a job page current while the job is active: re-renders on every status change pushed by
 * /api/v1/jobs/events, and every `fallbackMs` as a safety net (runtime and cost keep growing).
 */
export function AutoRefresh({ jobId, active, fallbackMs = 10_000 }: { jobId: string; active: boolean; fallbackMs?: number }) {
  const router = useRouter();
  useEffect(() => {
    if (!active) return;
    const source = new EventSource(`/api/v1/jobs/events?job=${encodeURIComponent(jobId)}`);
    source.addEventListener("job", () => router.refresh());
    const t = setInterval(() => router.refresh(), fallbackMs);
    return () => {
      source.close();
      clearInterval(t);
    };
  }, [jobId, active, fallbackMs, router]);
  return null;
}
