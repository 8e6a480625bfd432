// GET /api/health — liveness and readiness: database reachable, migrations current; whether this process leads the workers
import { sql } from "drizzle-orm";
import { migrationStatus } from "@/db/client";
import { getReadyDb } from "@/server/bootstrap";
import { publicRoute } from "@/server/http/api-route";
import { currentWorkers } from "@/server/workers/registry";

export const dynamic = "force-dynamic";

export const GET = publicRoute("/api/health", async () => {
  try {
    const db = await getReadyDb();
    await db.execute(sql`select 1`);
    const m = await migrationStatus(db);
    const current = m.applied >= m.expected;
    // Whether this process runs the background work (one process per database does: see server/workers).
    const workers = currentWorkers();
    const role = !workers ? "off" : workers.isLeader() ? "leader" : "follower";
    return Response.json(
      { status: current ? "ok" : "degraded", db: "ok", migrations: { applied: m.applied, expected: m.expected, current }, workers: role },
      { status: current ? 200 : 503 },
    );
  } catch (err) {
    return Response.json({ status: "error", db: "unreachable", message: err instanceof Error ? err.message : String(err) }, { status: 503 });
  }
});
