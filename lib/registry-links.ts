// Links to registry pages. Model names are unique per team, so every link names the team too.
export function modelHref(team: string, name: string, version?: number | string): string {
  const base = `/models/${encodeURIComponent(name)}`;
  const q = `?team=${encodeURIComponent(team)}`;
  return version === undefined ? `${base}${q}` : `${base}/versions/${version}${q}`;
}

export function compareHref(team: string, name: string, a: number | string, b: number | string): string {
  return `/models/${encodeURIComponent(name)}/compare?${new URLSearchParams({ team, a: String(a), b: String(b) })}`;
}
