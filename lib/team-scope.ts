// Which team the portal's lists show. The URL carries it (?team=<slug>, or ?team=all for every team of the
// user), so a link opens the same scope; without it a list shows the team the user works in now (the
// header's switcher). Pure, for the server pages and the client shell alike.

export const ALL_TEAMS = "all";

/** The list pages that follow the team scope, and where a page under each belongs. */
export const SCOPED_SECTIONS = ["/experiments", "/models", "/jobs", "/deployments", "/approvals", "/alerts", "/costs"] as const;

/** The scoped list a path belongs to (a run and a comparison belong to experiments), or null. */
export function scopedSection(pathname: string): string | null {
  const section = SCOPED_SECTIONS.find((p) => pathname === p || pathname.startsWith(`${p}/`));
  if (section) return section;
  if (pathname.startsWith("/runs/") || pathname === "/compare") return "/experiments";
  return null;
}

/**
 * The scope a list shows: a team slug, or null for every team the user reads. `requested` is the URL's
 * ?team=; `readable` says whether the user may read a team (member, or admin); `current` is the team they work in.
 */
export function resolveTeamScope(requested: string | undefined, current: string | undefined, readable: (slug: string) => boolean): string | null {
  if (requested === ALL_TEAMS) return null;
  if (requested && readable(requested)) return requested;
  return current ?? null;
}

/** A list page's address in a scope, keeping its other parameters. */
export function scopedHref(pathname: string, params: URLSearchParams | string, scope: string | null): string {
  const next = new URLSearchParams(params);
  next.set("team", scope ?? ALL_TEAMS);
  return `${pathname}?${next.toString()}`;
}
