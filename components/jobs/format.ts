// Job display helpers shared by the jobs pages.
export const JOB_TONE: Record<string, "neutral" | "green" | "red" | "amber" | "blue" | "teal"> = {
  queued: "amber", admitted: "blue", running: "teal", succeeded: "green", failed: "red", cancelled: "neutral",
};

export function resourceLabel(r: { cpu: number; memory_gib: number; gpus: number; gpu_type: string | null; instance_type: string | null }): string {
  const base = `${r.cpu} CPU · ${r.memory_gib} GiB${r.gpus ? ` · ${r.gpus}× ${r.gpu_type ?? "GPU"}` : ""}`;
  return r.instance_type ? `${r.instance_type} (${base})` : base;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} bytes`;
}
