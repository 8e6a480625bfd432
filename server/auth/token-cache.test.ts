// Verified API tokens are remembered for at most TOKEN_CACHE_MS (token-cache.ts). Every change Cairn's services
// make to who may act ends that memory at once; a change made behind their back (SQL by hand, another
// instance) is honoured within TOKEN_CACHE_MS.
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { apiTokens, memberships, teams } from "@/db/schema";
import type { TokenActor } from "./actor";
import { get, post } from "../mlflow/test-client";
import { changeRole, removeMember } from "../teams/admin";
import { DEMO, actorFor, ctxFor, demoDatabase, tokenFor } from "../testing/fixtures";
import { hashToken, listTokens, revokeToken } from "../tokens/service";
import { setUserActive } from "../users/admin";
import { TOKEN_CACHE_MS, authChanged, cacheGeneration, recall, remember } from "./token-cache";

const db = demoDatabase();
const works = async (token: string) => (await get(token, "experiments/search", { max_results: 1 })).status;

describe("verified-token memory", () => {
  it("refuses a token revoked through Cairn on the very next request", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    expect(await works(token)).toBe(200);
    expect(await works(token)).toBe(200);
    const ctx = await ctxFor(db(), DEMO.ds);
    const [mine] = (await listTokens(ctx)).filter((t) => t.revoked_at === null);
    await revokeToken(ctx, mine!.id);
    expect(await works(token)).toBe(401);
  });

  it("refuses a removed member's token, and a demoted member's write, on the very next request", async () => {
    const lead = await ctxFor(db(), DEMO.lead);
    const mle = await actorFor(db(), DEMO.mle);
    const token = await tokenFor(db(), DEMO.mle, "churn");
    expect((await post(token, "experiments/create", { name: `before-demotion-${Date.now()}` })).status).toBe(200);
    // Demoted to data scientist: still reads, may no longer delete experiments (write_data).
    await changeRole(lead, "churn", mle.userId, "data_scientist");
    const exp = await post<{ experiment_id: string }>(token, "experiments/create", { name: `after-demotion-${Date.now()}` });
    expect((await post(token, "experiments/delete", { experiment_id: exp.json.experiment_id })).status).toBe(403);
    await removeMember(lead, "churn", mle.userId);
    expect(await works(token)).toBe(401);
    const [churn] = await db().select({ id: teams.id }).from(teams).where(eq(teams.slug, "churn"));
    await db().insert(memberships).values({ userId: mle.userId, teamId: churn!.id, role: "ml_engineer" });
  });

  it("refuses a deactivated user's token on the very next request", async () => {
    const token = await tokenFor(db(), DEMO.leadFraud, "fraud");
    expect(await works(token)).toBe(200);
    const admin = await ctxFor(db(), DEMO.admin);
    const user = await actorFor(db(), DEMO.leadFraud);
    await setUserActive(admin, { user_id: user.userId, active: false });
    expect(await works(token)).toBe(401);
    await setUserActive(admin, { user_id: user.userId, active: true });
    // Deactivation revoked the token for good.
    expect(await works(token)).toBe(401);
  });

  it("honours a revocation made outside Cairn's services within TOKEN_CACHE_MS", async () => {
    const token = await tokenFor(db(), DEMO.dsFraud, "fraud");
    expect(await works(token)).toBe(200);
    const revokedAt = Date.now();
    await db().update(apiTokens).set({ revokedAt: new Date() }).where(eq(apiTokens.tokenHash, hashToken(token)));
    // Possibly still accepted from memory (that is the bound being tested), never past it.
    await new Promise((r) => setTimeout(r, Math.max(0, TOKEN_CACHE_MS - (Date.now() - revokedAt)) + 50));
    expect(await works(token)).toBe(401);
    await db().update(apiTokens).set({ revokedAt: null }).where(and(eq(apiTokens.tokenHash, hashToken(token))));
  });

  it("does not remember a read that an authorization change may have overtaken", () => {
    const actor = { kind: "token", userId: "u", email: "e", name: "n", isAdmin: false, memberships: [], tokenId: "t", tokenTeamId: "x", tokenTeamSlug: "x" } satisfies TokenActor;
    const far = new Date(Date.now() + 3_600_000);
    const generation = cacheGeneration();
    authChanged(); // a revocation committed while the token was being read
    remember("h1", actor, far, generation, Date.now());
    expect(recall("h1")).toBeNull();
    remember("h2", actor, far, cacheGeneration(), Date.now());
    expect(recall("h2")).toEqual(actor);
    expect(recall("h2", Date.now() + TOKEN_CACHE_MS)).toBeNull();
    remember("h3", actor, new Date(Date.now() + 10), cacheGeneration(), Date.now());
    expect(recall("h3", Date.now() + 20)).toBeNull();
  });
});
