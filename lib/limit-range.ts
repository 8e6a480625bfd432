import type { LimitRangeSpec } from "@/lib/schemas/teams";

/** "cpu 0.25–16 (default 1) · memory ≤ 64 GiB (default 2 GiB)", or "none". */
export function describeLimitRange(l: LimitRangeSpec | null): string {
  if (!l) return "none";
  const part = (key: "cpu" | "memory_gib", unit: string) => {
    const min = l.min?.[key], max = l.max?.[key], def = l.default_request?.[key];
    if (min === undefined && max === undefined && def === undefined) return null;
    const range = min !== undefined && max !== undefined ? `${min}–${max}${unit}` : min !== undefined ? `≥ ${min}${unit}` : max !== undefined ? `≤ ${max}${unit}` : "";
    return `${key === "cpu" ? "cpu" : "memory"} ${range}${def !== undefined ? `${range ? " " : ""}(default ${def}${unit})` : ""}`.trim();
  };
  return [part("cpu", ""), part("memory_gib", " GiB")].filter(Boolean).join(" · ") || "none";
}
