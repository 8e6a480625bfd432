// The portal's navigation, in ARCHITECTURE.md's page table order; `access` says who sees an item.
export type NavAccess = "member" | "lead" | "admin" | "everyone";
export type NavItem = { href: string; label: string; access: NavAccess; icon: NavIcon; ready: boolean };
export type NavIcon = "flask" | "box" | "play" | "rocket" | "check" | "bell" | "coins" | "users" | "shield" | "scroll" | "gear" | "pulse";

export const NAV_ITEMS: NavItem[] = [
  { href: "/experiments", label: "Experiments", access: "member", icon: "flask", ready: true },
  { href: "/models", label: "Models", access: "member", icon: "box", ready: true },
  { href: "/jobs", label: "Jobs", access: "member", icon: "play", ready: true },
  { href: "/deployments", label: "Deployments", access: "member", icon: "rocket", ready: true },
  { href: "/approvals", label: "Approvals", access: "member", icon: "check", ready: true },
  { href: "/alerts", label: "Alerts", access: "member", icon: "bell", ready: true },
  { href: "/costs", label: "Costs", access: "member", icon: "coins", ready: true },
  { href: "/teams", label: "Teams", access: "member", icon: "users", ready: true },
  { href: "/admin", label: "Admin", access: "admin", icon: "shield", ready: true },
  { href: "/admin/platform", label: "Platform", access: "admin", icon: "pulse", ready: true },
  { href: "/audit", label: "Audit", access: "lead", icon: "scroll", ready: true },
  { href: "/settings", label: "Settings", access: "everyone", icon: "gear", ready: true },
];

export type NavViewer = { isAdmin: boolean; isMember: boolean; isLead: boolean };

export function visibleNav(viewer: NavViewer): NavItem[] {
  return NAV_ITEMS.filter((item) => {
    switch (item.access) {
      case "everyone": return true;
      case "admin": return viewer.isAdmin;
      case "lead": return viewer.isAdmin || viewer.isLead;
      case "member": return viewer.isAdmin || viewer.isMember;
    }
  });
}

export const ROLE_LABELS: Record<string, string> = {
  data_scientist: "Data scientist",
  ml_engineer: "ML engineer",
  team_lead: "Team lead",
  admin: "Platform admin",
};
