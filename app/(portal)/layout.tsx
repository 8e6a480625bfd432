import type { ReactNode } from "react";
import { AppShell } from "@/components/shell/app-shell";
import { ROLE_LABELS, visibleNav } from "@/lib/nav";
import { currentTeamSlug, requirePageCtx } from "@/server/auth/session";
import { pendingForActor } from "@/server/approvals/service";
import { listTeams } from "@/server/teams/service";
import { switchTeam } from "./actions";

export default async function PortalLayout({ children }: { children: ReactNode }) {
  const ctx = await requirePageCtx();
  const { actor } = ctx;
  const [teams, toDecide] = await Promise.all([listTeams(ctx), pendingForActor(ctx)]);
  const current = await currentTeamSlug(actor);
  const labelFor = (slug: string | undefined) => {
    const role = actor.memberships.find((m) => m.teamSlug === slug)?.role;
    return actor.isAdmin ? ROLE_LABELS.admin! : role ? `${ROLE_LABELS[role]} · ${slug}` : "No team";
  };
  const roleLabel = labelFor(current);
  // The role line follows the scope the page shows; across all teams it names the one worked in now.
  const roleLabels = Object.fromEntries([...teams.map((t) => [t.slug, labelFor(t.slug)]), ["all", roleLabel]]);
  const nav = visibleNav({
    isAdmin: actor.isAdmin,
    isMember: actor.memberships.length > 0,
    isLead: actor.memberships.some((m) => m.role === "team_lead"),
  });
  return (
    <AppShell
      nav={nav}
      user={{ name: actor.name, email: actor.email, roleLabel }}
      teams={teams.map((t) => ({ slug: t.slug, name: t.name, role: t.role }))}
      currentTeam={current}
      roleLabels={roleLabels}
      counts={{ "/approvals": toDecide }}
      switchTeam={switchTeam}
    >
      {children}
    </AppShell>
  );
}
