// GET /api/health — liveness and readiness: database reachable, migrations current
import { sql } from "drizzle-orm";
import { migrationStatus } from "@/db/client";
import { getReadyDb } from "@/server/bootstrap";
import { publicRoute } from "@/server/http/api-route";

export const dynamic = "force-dynamic";

export const GET = publicRoute("/api/health", async () => {
  try {
    const db = await getReadyDb();
    await db.execute(sql`select 1`);
    const m = await migrationStatus(db);
    const current = m.applied >= m.expected;
    return Response.json(
      { status: current ? "ok" : "degraded", db: "ok", migrations: { applied: m.applied, expected: m.expected, current } },
      { status: current ? 200 : 503 },
    );
  } catch (err) {
    return Response.json({ status: "error", db: "unreachable", message: err instanceof Error ? err.message : String(err) }, { status: 503 });
  }
});
