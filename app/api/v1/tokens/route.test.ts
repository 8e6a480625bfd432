import { describe, expect, it } from "vitest";
import { GET as meGET } from "@/app/api/v1/me/route";
import { DELETE as tokenDELETE } from "@/app/api/v1/tokens/[id]/route";
import { GET as tokensGET, POST as tokensPOST } from "@/app/api/v1/tokens/route";
import { GET as teamGET } from "@/app/api/v1/teams/[slug]/route";
import { POST as teamsPOST } from "@/app/api/v1/teams/route";
import { apiTokens } from "@/db/schema";
import { call, ctxFor, DEMO, tokenFor, demoDatabase } from "@/server/testing/fixtures";
import { createToken, listTokens, revokeToken } from "@/server/tokens/service";
import { eq } from "drizzle-orm";

const db = demoDatabase();

describe("API tokens", () => {
  it("is shown once, stored hashed, and listed with prefix and last use", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const created = await createToken(ctx, { name: "laptop", team: "churn", expires_in_days: 7 });
    expect(created.token).toMatch(/^cairn_/);
    expect(created.token.startsWith(created.prefix)).toBe(true);
    const [row] = await db().select().from(apiTokens).where(eq(apiTokens.id, created.id));
    expect(row?.tokenHash).not.toContain(created.token);
    expect(JSON.stringify(row)).not.toContain(created.token);

    const me = await call(meGET, { token: created.token });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ user: { email: DEMO.ds, is_admin: false }, teams: [{ slug: "churn", role: "data_scientist" }] });

    const listed = await listTokens(ctx);
    const mine = listed.find((t) => t.id === created.id);
    expect(mine).toMatchObject({ name: "laptop", prefix: created.prefix, team: "churn" });
    expect(mine?.last_used_at).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(created.token);
  });

  it("answers 401 for anonymous, malformed, unknown, revoked and expired tokens", async () => {
    expect((await call(meGET)).status).toBe(401);
    for (const bad of ["%E0%A4%A", "cairn_short", "Bearer", "cairn_" + "x".repeat(43)]) {
      const r = await call(meGET, { token: bad });
      expect(r.status, bad).toBe(401);
      expect(r.json).toMatchObject({ error: { code: "unauthenticated" } });
    }
    expect((await call(meGET, { headers: { authorization: "Token abc" } })).status).toBe(401);
    expect((await call(meGET, { headers: { authorization: "Bearer %E0%A4%A" } })).status).toBe(401);

    const token = await tokenFor(db(), DEMO.ds, "churn");
    expect((await call(meGET, { token })).status).toBe(200);
    const ctx = await ctxFor(db(), DEMO.ds);
    const id = (await listTokens(ctx))[0]!.id;
    const del = await call(tokenDELETE, { method: "DELETE", token, params: { id } });
    expect(del.status).toBe(204);
    const after = await call(meGET, { token });
    expect(after.status).toBe(401);
    expect(JSON.stringify(after.json)).toContain("revoked");

    const expiring = await createToken(ctx, { name: "old", team: "churn", expires_in_days: 1 });
    await db().update(apiTokens).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(apiTokens.id, expiring.id));
    const expired = await call(meGET, { token: expiring.token });
    expect(expired.status).toBe(401);
    expect(JSON.stringify(expired.json)).toContain("expired");
  });

  it("is created from a session only, for a team the user belongs to", async () => {
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const viaToken = await call(tokensPOST, { method: "POST", token, body: { name: "x", team: "churn", expires_in_days: 1 } });
    expect(viaToken.status).toBe(403);
    // Another team and a team that does not exist answer alike: not found.
    await expect(createToken(await ctxFor(db(), DEMO.ds), { name: "x", team: "fraud", expires_in_days: 1 })).rejects.toMatchObject({ code: "not_found" });
    await expect(createToken(await ctxFor(db(), DEMO.ds), { name: "x", team: "nope", expires_in_days: 1 })).rejects.toMatchObject({ code: "not_found" });
  });

  it("lets a platform admin mint a token for any team, keeping admin rights", async () => {
    const created = await createToken(await ctxFor(db(), DEMO.admin), { name: "ops", team: "vision", expires_in_days: 1 });
    const other = await call(teamGET, { token: created.token, params: { slug: "fraud" } });
    expect(other.status).toBe(200);
    const made = await call(teamsPOST, { method: "POST", token: created.token, body: { slug: "admin-made", name: "Admin Made" } });
    expect(made.status).toBe(201);
  });

  it("refuses another team's objects with 404, a platform-wide write the role lacks with 403", async () => {
    const token = await tokenFor(db(), DEMO.dsFraud, "fraud");
    expect((await call(teamGET, { token, params: { slug: "churn" } })).status).toBe(404);
    expect((await call(teamGET, { token, params: { slug: "fraud" } })).status).toBe(200);
    const churnToken = (await listTokens(await ctxFor(db(), DEMO.lead))).at(0);
    const leadToken = churnToken ?? (await createToken(await ctxFor(db(), DEMO.lead), { name: "l", team: "churn", expires_in_days: 1 }));
    // Someone else's token id is not revealed.
    const del = await call(tokenDELETE, { method: "DELETE", token, params: { id: leadToken.id } });
    expect(del.status).toBe(404);
    await expect(revokeToken(await ctxFor(db(), DEMO.dsFraud), leadToken.id)).rejects.toMatchObject({ code: "not_found" });
    const write = await call(teamsPOST, { method: "POST", token, body: { slug: "sneaky", name: "Sneaky" } });
    expect(write.status).toBe(403);
  });

  it("lists only the caller's tokens", async () => {
    await tokenFor(db(), DEMO.lead, "churn");
    const token = await tokenFor(db(), DEMO.dsFraud, "fraud");
    const r = await call(tokensGET, { token });
    const list = (r.json as { tokens: { team: string }[] }).tokens;
    expect(list.length).toBeGreaterThan(0);
    expect(list.every((t) => t.team === "fraud")).toBe(true);
  });

  it("rejects bad input with field errors and stores nothing", async () => {
    const ctx = await ctxFor(db(), DEMO.ds);
    const before = (await listTokens(ctx)).length;
    const token = await tokenFor(db(), DEMO.ds, "churn");
    const r = await call(tokensPOST, { method: "POST", token, body: { name: "", team: "churn", expires_in_days: 9999, extra: 1 } });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { code: "invalid_input", fields: { name: expect.any(Array), expires_in_days: expect.any(Array), extra: expect.any(Array) } } });
    expect((await listTokens(ctx)).length).toBe(before + 1);
  });
});
