/** Metric keys with the longest histories first (curves before single values), then by name. */
export function byHistoryLength(keys: string[], points: Record<string, number>): string[] {
  return [...keys].sort((a, b) => (points[b] ?? 0) - (points[a] ?? 0) || (a < b ? -1 : a > b ? 1 : 0));
}
