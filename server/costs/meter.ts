// The cost meter: writes what jobs and deployments cost into cost_ledger, from where the last pass left
// each of them up to now. Jobs are charged their runtime (all attempts) at the price they were submitted
// with; deployments their replicas × the time they served at the replica price. Each pass runs under an
// advisory lock, and a subject's rows never overlap (a row starts where its last one ended), so passes on
// several instances or after a crash never charge the same time twice.
// Each row also carries its split by resource kind (./resource-prices.ts), what was requested and — where the
// backend measured it (job_resource_samples for a job, deployment_resource_samples for a deployment's replicas) —
// what was used, or why it was not readable (GPUs: used where the samples carry the DCGM exporter's utilization of
// the pods' GPUs, on Kubernetes with PROMETHEUS_URL; elsewhere counted as requested, and the row says so); a team's stored artifacts are charged per GiB-month as "storage" rows
// when the pass is given the artifact store.
import { and, eq, gt, gte, inArray, isNotNull, isNull, lte, or, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, costLedger, deploymentResourceSamples, deployments, experiments, jobResourceSamples, jobs, runs, teams } from "@/db/schema";
import type { ArtifactStore } from "../artifacts/store";
import { teamStoredBytes } from "../artifacts/usage";
import { runtimeSeconds } from "../jobs/service";
import { HOURS_PER_MONTH, replicaPrice } from "./prices";
import type { PriceSheet } from "./resource-prices";
import { priceSheet, splitAmount } from "./resource-prices";
import { log } from "../observability/log";

const METER_LOCK = 0x636f_7374; // "cost"
/** Live subjects are charged in slices of at least this long (finished ones up to their end at once). */
const MIN_SLICE_MS = 55_000;
/** Finished subjects are looked at for this long after they end (a meter that was down catches up). */
const LOOKBACK = sql`interval '35 days'`;

type Watermark = { metered: number; lastEnd: Date | null };

async function watermarks(tx: DbOrTx, kind: "job" | "deployment" | "storage", ids: string[]): Promise<Map<string, Watermark>> {
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

const GIB = 1024 ** 3;

/** The samples of a job (its process tree or pods) or of a deployment (its replicas together). */
type Sampled = { kind: "job" | "deployment"; id: string };

/**
 * Mean CPU cores and memory GiB the subject's samples show over [start, end], and the mean utilization (0–1) of its
 * GPUs over the samples that carry one (null: none did); null when no sample was taken then.
 */
async function measuredUsage(tx: DbOrTx, of: Sampled, start: Date, end: Date): Promise<{ cpu: number; memoryGib: number; gpu: number | null } | null> {
  const t = of.kind === "job"
    ? { table: jobResourceSamples, owner: jobResourceSamples.jobId, at: jobResourceSamples.at, cpu: jobResourceSamples.cpuCores, memory: jobResourceSamples.memoryBytes, gpu: jobResourceSamples.gpuUtilization }
    : { table: deploymentResourceSamples, owner: deploymentResourceSamples.deploymentId, at: deploymentResourceSamples.at, cpu: deploymentResourceSamples.cpuCores, memory: deploymentResourceSamples.memoryBytes, gpu: deploymentResourceSamples.gpuUtilization };
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int`, cpu: sql<number | null>`avg(${t.cpu})::float8`, memory: sql<number | null>`avg(${t.memory})::float8`, gpu: sql<number | null>`avg(${t.gpu})::float8` })
    .from(t.table)
    .where(and(eq(t.owner, of.id), gte(t.at, start), lte(t.at, end)));
  if (!row || row.n === 0 || row.cpu === null || row.memory === null) return null;
  return { cpu: Number(row.cpu), memoryGib: Number(row.memory) / GIB, gpu: row.gpu === null ? null : Number(row.gpu) };
}

/** GPUs requested × their mean utilization × hours; null where no utilization was read (the GPUs count as requested). */
function usedGpuHours(gpus: number, used: { gpu: number | null } | null, hours: number): number | null {
  return gpus > 0 && used?.gpu != null ? gpus * used.gpu * hours : null;
}

/** Why a period's GPUs are counted as requested (null: they were measured, or there are none). */
function gpuNote(backend: string, gpus: number, used: { gpu: number | null } | null, what: "job" | "deployment"): string | null {
  if (gpus <= 0 || used?.gpu != null) return null;
  return backend === "kubernetes"
    ? `GPU counted as requested: no DCGM exporter utilization was read for this ${what}'s pods in this period (it is read from PROMETHEUS_URL)`
    : "GPU counted as requested: GPU utilization is measured on the Kubernetes backend only (the DCGM exporter through PROMETHEUS_URL)";
}

/** Why a deployment's period carries no used figures: what its sampler last found, else that nothing was read then. */
function servingUsageNote(d: typeof deployments.$inferSelect): string {
  if (d.resourceSource?.source === "unavailable") return `usage not readable: ${d.resourceSource.reason ?? "the backend does not report it"}`;
  return d.backend === "kubernetes"
    ? "usage not readable: no pod metrics were read for this period"
    : "usage not readable: no replica process was sampled in this period (none was up, or Cairn was not running)";
}

function usageNote(j: typeof jobs.$inferSelect): string {
  if (j.resourceSource?.source === "unavailable") return `usage not readable: ${j.resourceSource.reason ?? "the backend does not report it"}`;
  return j.backend === "kubernetes" ? "usage not readable: no pod metrics were read for this period" : "not measured: no process samples for this period";
}

async function meterJobs(tx: DbOrTx, now: Date, prices: PriceSheet): Promise<Row[]> {
  const candidates = await tx
    .select({ job: jobs, experimentName: experiments.name, runName: runs.name })
    .from(jobs)
    .leftJoin(experiments, eq(experiments.id, jobs.experimentId))
    .leftJoin(runs, eq(runs.id, jobs.runId))
    .where(and(isNotNull(jobs.startedAt), or(eq(jobs.status, "running"), gt(jobs.finishedAt, sql`now() - ${LOOKBACK}`))));
  const marks = await watermarks(tx, "job", candidates.map((c) => c.job.id));
  const out: Row[] = [];
  for (const { job: j, experimentName, runName } of candidates) {
    const mark = marks.get(j.id) ?? { metered: 0, lastEnd: null };
    const runtimeHours = runtimeSeconds(j, now.getTime()) / 3600;
    const hours = runtimeHours - mark.metered;
    if (hours <= 1e-7) continue;
    const running = j.status === "running";
    const start = mark.lastEnd ?? j.startedAt!;
    const end = running ? now : new Date(Math.max(j.finishedAt?.getTime() ?? now.getTime(), start.getTime() + 1));
    if (running && end.getTime() - start.getTime() < MIN_SLICE_MS) continue;
    const price = Number(j.hourlyPriceUsd);
    const amount = round6(hours * price);
    const used = await measuredUsage(tx, { kind: "job", id: j.id }, start, end);
    out.push({
      teamId: j.teamId, subjectKind: "job", subjectId: j.id, subjectName: j.name, userEmail: j.userEmail, runId: j.runId, resource: jobResource(j),
      quantityHours: hours, unitPriceUsd: price, amountUsd: amount, periodStart: start, periodEnd: end,
      ...splitAmount(amount, { cpu: j.cpu, memoryGib: j.memoryGib, gpus: j.gpus, gpuType: j.gpuType }, prices),
      cpuCoreHours: j.cpu * hours, memoryGibHours: j.memoryGib * hours, gpuHours: j.gpus * hours, gpuType: j.gpus > 0 ? j.gpuType ?? "gpu" : null,
      usedCpuCoreHours: used ? used.cpu * hours : null, usedMemoryGibHours: used ? used.memoryGib * hours : null, usedGpuHours: usedGpuHours(j.gpus, used, hours),
      usageNote: used ? gpuNote(j.backend, j.gpus, used, "job") : usageNote(j),
      experimentId: j.experimentId, experimentName, runName,
    });
  }
  return out;
}

async function meterDeployments(tx: DbOrTx, now: Date, prices: PriceSheet): Promise<Row[]> {
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
    const wallHours = ms / 3_600_000;
    const hours = wallHours * d.replicas;
    const amount = round6(hours * price.hourly);
    const r = price.resources;
    // The samples are of all the replicas together, so their mean over the period × its length is what they used.
    const used = await measuredUsage(tx, { kind: "deployment", id: d.id }, start, end);
    out.push({
      teamId: d.teamId, subjectKind: "deployment", subjectId: d.id, subjectName: `${d.modelName} v${d.version} (${d.environment})`, userEmail: d.createdByEmail, runId: null,
      resource: price.as ? `replica as ${price.as}` : "replica (unpriced)", quantityHours: hours, unitPriceUsd: price.hourly, amountUsd: amount, periodStart: start, periodEnd: end,
      ...splitAmount(amount, r, prices),
      cpuCoreHours: r.cpu * hours, memoryGibHours: r.memoryGib * hours, gpuHours: r.gpus * hours, gpuType: r.gpus > 0 ? r.gpuType ?? "gpu" : null,
      usedCpuCoreHours: used ? used.cpu * wallHours : null, usedMemoryGibHours: used ? used.memoryGib * wallHours : null, usedGpuHours: usedGpuHours(r.gpus, used, hours),
      usageNote: used ? gpuNote(d.backend, r.gpus, used, "deployment") : servingUsageNote(d),
      modelName: d.modelName, modelVersion: d.version, environment: d.environment,
    });
  }
  return out;
}

/** Storage is charged in slices of at least this long (its bytes change slowly; reading them walks the store). */
export const STORAGE_SLICE_MS = 10 * 60_000;

/**
 * Each team's stored bytes (artifacts, code archives, pinned versions: what the storage quota counts) × the
 * storage price per GiB-month, for the time since the team's last storage row at the bytes stored now. A team's
 * first pass writes a zero row that marks when metering began (nothing before it is charged).
 */
async function meterStorage(tx: DbOrTx, now: Date, prices: PriceSheet, store: ArtifactStore): Promise<Row[]> {
  const live = await tx.select({ id: teams.id, slug: teams.slug }).from(teams).where(isNull(teams.archivedAt));
  const marks = await watermarks(tx, "storage", live.map((t) => t.id));
  const out: Row[] = [];
  for (const t of live) {
    const start = marks.get(t.id)?.lastEnd ?? now;
    const ms = now.getTime() - start.getTime();
    if (marks.has(t.id) && ms < STORAGE_SLICE_MS) continue;
    let gibStored: number;
    try {
      gibStored = (await teamStoredBytes(tx, store, t)) / GIB;
    } catch (err) {
      // An unreadable store leaves this team's storage for a later pass (its time is charged then); jobs and
      // deployments are metered regardless.
      log.warn(`cost meter: could not read team ${t.slug}'s stored bytes`, { err });
      continue;
    }
    const hours = ms / 3_600_000;
    const amount = round6((gibStored * prices.storagePerGibMonth * hours) / HOURS_PER_MONTH);
    out.push({
      teamId: t.id, subjectKind: "storage", subjectId: t.id, subjectName: `${t.slug} stored artifacts`, userEmail: "", runId: null,
      resource: "storage (GiB-month)", quantityHours: hours, unitPriceUsd: prices.storagePerGibMonth, amountUsd: amount, periodStart: start, periodEnd: now,
      storageGibHours: gibStored * hours, storageUsd: amount, usageNote: null,
    });
  }
  return out;
}

/**
 * One metering pass; returns how many ledger rows it wrote. With `store`, stored artifacts are charged too
 * (the worker passes the artifact store; a pass without one leaves storage for the next).
 */
export async function meterCosts(db: Db, now = new Date(), opts: { store?: ArtifactStore } = {}): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${METER_LOCK})`);
    const prices = await priceSheet(tx);
    const rows = [...(await meterJobs(tx, now, prices)), ...(await meterDeployments(tx, now, prices)), ...(opts.store ? await meterStorage(tx, now, prices, opts.store) : [])];
    if (rows.length === 0) return 0;
    const written = await tx.insert(costLedger).values(rows).onConflictDoNothing().returning({ id: costLedger.id });
    return written.length;
  });
}
