import type { Metadata } from "next";
import { TokensPanel } from "@/components/tokens/tokens-panel";
import { PageHeader } from "@/components/ui/page-header";
import { currentTeamSlug, requirePageCtx } from "@/server/auth/session";
import { listTeams } from "@/server/teams/service";
import { listTokens } from "@/server/tokens/service";
import { createTokenAction, revokeTokenAction } from "./actions";

export const metadata: Metadata = { title: "API tokens" };

export default async function TokensPage() {
  const ctx = await requirePageCtx();
  const [tokens, teams, current] = await Promise.all([listTokens(ctx), listTeams(ctx), currentTeamSlug(ctx.actor)]);
  return (
    <div>
      <PageHeader
        title="API tokens"
        description="Tokens let scripts, the CLI and the mlflow client act as you in one team. A token is shown once; Cairn keeps only a hash."
      />
      <TokensPanel
        tokens={tokens}
        teams={teams.map((t) => ({ slug: t.slug, name: t.name }))}
        defaultTeam={current ?? teams[0]?.slug}
        createToken={createTokenAction}
        revokeToken={revokeTokenAction}
      />
    </div>
  );
}
