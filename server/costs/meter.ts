// The cost meter: writes what jobs and deployments cost into cost_ledger, from where the last pass left
// each of them up to now. Jobs are charged their runtime (all attempts) at the price they were submitted
// with; deployments their replicas × the time they served at the replica price. Each pass runs under an
// advisory lock, and a subject's rows never overlap (a row starts where its last one ended), so passes on
// several instances or after a crash never charge the same time twice.
import { and, eq, gt, inArray, isNotNull, or, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, costLedger, deployments, jobs } from "@/db/schema";
import { runtimeSeconds } from "../jobs/service";
import { replicaPrice } from "./prices";

const METER_LOCK = 0x636f_7374; // "cost"
/** Live subjects are charged in slices of at least this long (finished ones up to their end at once). */
const MIN_SLICE_MS = 55_000;
/** Finished subjects are looked at for this long after they end (a meter that was down catches up). */
const LOOKBACK = sql`interval '35 days'`;

type Watermark = { metered: number; lastEnd: Date | null };

async function watermarks(tx: DbOrTx, kind: "job" | "deployment", ids: string[]): Promise<Map<string, Watermark>> {
  if (ids.length === 0) return new Map();
  const rows = await tx
    .select({ id: costLedger.subjectId, metered: sql<number>`coalesce(sum(${costLedger.quantityHours}), 0)::float8`, lastEnd: sql<Date | string | null>`max(${costLedger.periodEnd})` })
    .from(costLedger)
    .where(and(eq(costLedger.subjectKind, kind), inArray(costLedger.subjectId, ids)))
    .groupBy(costLedger.subjectId);
  return new Map(rows.map((r) => [r.id, { metered: Number(r.metered), lastEnd: r.lastEnd === null ? null : new Date(r.lastEnd) }]));
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

function jobResource(j: typeof jobs.$inferSelect): string {
  if (j.spec.instance_type) return j.spec.instance_type;
  return `custom: ${j.cpu} CPU, ${j.memoryGib} GiB${j.gpus ? `, ${j.gpus}× ${j.gpuType ?? "GPU"}` : ""}`;
}

type Row = typeof costLedger.$inferInsert;

async function meterJobs(tx: DbOrTx, now: Date): Promise<Row[]> {
  const candidates = await tx
    .select()
    .from(jobs)
    .where(and(isNotNull(jobs.startedAt), or(eq(jobs.status, "running"), gt(jobs.finishedAt, sql`now() - ${LOOKBACK}`))));
  const marks = await watermarks(tx, "job", candidates.map((j) => j.id));
  const out: Row[] = [];
  for (const j of candidates) {
    const mark = marks.get(j.id) ?? { metered: 0, lastEnd: null };
    const runtimeHours = runtimeSeconds(j, now.getTime()) / 3600;
    const hours = runtimeHours - mark.metered;
    if (hours <= 1e-7) continue;
    const running = j.status === "running";
    const start = mark.lastEnd ?? j.startedAt!;
    const end = running ? now : new Date(Math.max(j.finishedAt?.getTime() ?? now.getTime(), start.getTime() + 1));
    if (running && end.getTime() - start.getTime() < MIN_SLICE_MS) continue;
    const price = Number(j.hourlyPriceUsd);
    out.push({
      teamId: j.teamId, subjectKind: "job", subjectId: j.id, subjectName: j.name, userEmail: j.userEmail, runId: j.runId, resource: jobResource(j),
      quantityHours: hours, unitPriceUsd: price, amountUsd: round6(hours * price), periodStart: start, periodEnd: end,
    });
  }
  return out;
}

async function meterDeployments(tx: DbOrTx, now: Date): Promise<Row[]> {
  const candidates = await tx
    .select()
    .from(deployments)
    .where(and(isNotNull(deployments.readyAt), or(inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES]), gt(deployments.stoppedAt, sql`now() - ${LOOKBACK}`))));
  if (candidates.length === 0) return [];
  const [marks, price] = await Promise.all([watermarks(tx, "deployment", candidates.map((d) => d.id)), replicaPrice(tx)]);
  const out: Row[] = [];
  for (const d of candidates) {
    const mark = marks.get(d.id);
    const start = mark?.lastEnd && mark.lastEnd > d.readyAt! ? mark.lastEnd : d.readyAt!;
    const live = d.stoppedAt === null;
    const end = live ? now : d.stoppedAt!;
    const ms = end.getTime() - start.getTime();
    if (ms <= 0 || (live && ms < MIN_SLICE_MS)) continue;
    const hours = (ms / 3_600_000) * d.replicas;
    out.push({
      teamId: d.teamId, subjectKind: "deployment", subjectId: d.id, subjectName: `${d.modelName} v${d.version} (${d.environment})`, userEmail: d.createdByEmail, runId: null,
      resource: price.as ? `replica as ${price.as}` : "replica (unpriced)", quantityHours: hours, unitPriceUsd: price.hourly, amountUsd: round6(hours * price.hourly), periodStart: start, periodEnd: end,
    });
  }
  return out;
}

/** One metering pass; returns how many ledger rows it wrote. */
export async function meterCosts(db: Db, now = new Date()): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${METER_LOCK})`);
    const rows = [...(await meterJobs(tx, now)), ...(await meterDeployments(tx, now))];
    if (rows.length === 0) return 0;
    const written = await tx.insert(costLedger).values(rows).onConflictDoNothing().returning({ id: costLedger.id });
    return written.length;
  });
}
