// The autoscaler (local backend): every tick it reads each served deployment's requests in flight (the
// gateway counts them per replica), decides a replica count with `decideReplicas`, commits it as the
// deployment's `replicas` with an event that gives the reason, then has the replica manager carry it out.
// Scale-up acts on the first tick that sees the load; scale-down waits until load has stayed low for a
// whole window. A deployment without autoscaling is held at its recorded `replicas` (a scale request's intent).
// It never rises above the deployment's max_replicas, its team's quota (max_replicas of team_quotas, counted
// over the team's live deployments) or what CAIRN_LOCAL_REPLICAS_MAX leaves on the host.
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "@/db/client";
import { LIVE_DEPLOYMENT_STATUSES, deploymentEvents, deployments, teamQuotas, teams } from "@/db/schema";
import type { DeploymentRuntime } from "../deployments/runtime";
import { env } from "../env";
import { lockedReplicaRoom } from "../deployments/prepare";
import { log } from "../observability/log";

/** What the autoscaler remembers about one deployment between ticks (memory only: a restart starts a fresh window). */
export type ScaleMemory = {
  /** When load first fell below what the current replicas are for (null: it has not). */
  belowSince: number | null;
  /** The most replicas any tick asked for since `belowSince`: a scale-down goes no lower. */
  peak: number;
};

export const FRESH: ScaleMemory = { belowSince: null, peak: 0 };

/** A bound the replica count may not pass, with the name a user knows it by. */
export type Ceiling = { value: number; name: string };

export type ScaleInput = {
  /** Milliseconds on any steady clock. */
  now: number;
  /** The replica count the deployment runs (its recorded `replicas`). */
  replicas: number;
  /** Mean requests in flight over the last tick, all replicas together. */
  inflight: number;
  targetConcurrency: number;
  minReplicas: number;
  /** max_replicas, then the team's quota and the host's cap: the count never rises above the lowest (it is not cut to fit one either). */
  ceilings: Ceiling[];
  downWindowMs: number;
  memory: ScaleMemory;
};

export type ScaleDecision = { replicas: number; reason: string | null; memory: ScaleMemory };

const fmt = (n: number) => (Math.round(n * 10) / 10).toString();

/** Desired replicas from load: ceil(in flight ÷ target), within min and every ceiling; down only after a stable window. */
export function decideReplicas(input: ScaleInput): ScaleDecision {
  const { now, replicas, targetConcurrency: target, memory } = input;
  // Scaling to zero is not built: a deployment keeps one replica to answer its next request.
  const floor = Math.max(1, input.minReplicas);
  const lowest = input.ceilings.reduce<Ceiling | null>((low, c) => (low === null || c.value < low.value ? c : low), null);
  const cap = lowest ? Math.max(floor, lowest.value) : Number.POSITIVE_INFINITY;
  const perReplica = input.inflight / Math.max(1, replicas);
  const load = `${fmt(perReplica)} requests in flight per replica, target ${target}`;
  // A hair of tolerance: 8.000001 in flight at target 4 is two replicas' worth, not three.
  const wanted = Math.max(floor, Math.ceil(input.inflight / target - 1e-6));

  if (replicas < floor) return { replicas: floor, reason: `scaled ${replicas} → ${floor}: min_replicas is ${input.minReplicas}`, memory: FRESH };
  if (wanted > replicas) {
    const up = Math.min(wanted, Math.max(cap, replicas));
    if (up === replicas) return { replicas, reason: null, memory: FRESH };
    const held = up < wanted && lowest ? `; ${wanted} wanted, held at ${up} by ${lowest.name}` : "";
    return { replicas: up, reason: `scaled ${replicas} → ${up}: ${load}${held}`, memory: FRESH };
  }
  if (wanted === replicas) return { replicas, reason: null, memory: FRESH };
  // Fewer would do: only once that has held for the whole window, and never below what any tick in it wanted.
  if (memory.belowSince === null) return { replicas, reason: null, memory: { belowSince: now, peak: wanted } };
  const peak = Math.max(memory.peak, wanted);
  if (now - memory.belowSince < input.downWindowMs || peak >= replicas) return { replicas, reason: null, memory: { belowSince: memory.belowSince, peak } };
  return { replicas: peak, reason: `scaled ${replicas} → ${peak}: ${load}, below it for ${fmt((now - memory.belowSince) / 1000)} s`, memory: FRESH };
}

export type AutoscalerOptions = {
  db: Db;
  runtime: DeploymentRuntime;
  /** Default: CAIRN_AUTOSCALE_INTERVAL_MS. */
  intervalMs?: number;
  /** Default: CAIRN_AUTOSCALE_DOWN_WINDOW_MS. */
  downWindowMs?: number;
  /** Default: CAIRN_LOCAL_REPLICAS_MAX. */
  hostReplicasMax?: number;
};

/** One tick's outcome for a deployment this process serves (for tests and logs). */
export type ScaleOutcome = { deploymentId: string; from: number; to: number; reason: string | null };

export class Autoscaler {
  private readonly db: Db;
  private readonly runtime: DeploymentRuntime;
  private readonly intervalMs: number;
  private readonly downWindowMs: number;
  private readonly hostReplicasMax: number;
  private readonly memory = new Map<string, ScaleMemory>();
  private readonly samples = new Map<string, { inflightMs: number; at: number }>();
  /** Replica changes being carried out, by deployment; a deployment is not decided on again until its change lands. */
  private readonly changing = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<ScaleOutcome[]> | null = null;

  constructor(opts: AutoscalerOptions) {
    this.db = opts.db;
    this.runtime = opts.runtime;
    this.intervalMs = opts.intervalMs ?? env().autoscale.intervalMs;
    this.downWindowMs = opts.downWindowMs ?? env().autoscale.downWindowMs;
    this.hostReplicasMax = opts.hostReplicasMax ?? env().localReplicasMax;
  }

  start(): void {
    if (this.timer) return;
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.tick()
          .catch((err: unknown) => log.error("autoscaler tick failed", { err }))
          .finally(() => {
            if (this.timer) loop();
          });
      }, this.intervalMs);
      this.timer.unref();
    };
    loop();
  }

  /** Stops ticking; resolves once the tick and replica changes in flight have finished. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.ticking?.catch(() => undefined);
    await this.settled();
  }

  /** Resolves when every replica change started so far has landed. */
  async settled(): Promise<void> {
    await Promise.all([...this.changing.values()]);
  }

  /** One pass over the deployments this process serves. Ticks never overlap. */
  tick(): Promise<ScaleOutcome[]> {
    this.ticking ??= this.pass().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async pass(): Promise<ScaleOutcome[]> {
    const live = await this.db
      .select({
        id: deployments.id, teamId: deployments.teamId, team: teams.slug, status: deployments.status, replicas: deployments.replicas, autoScale: deployments.autoScale,
        min: deployments.minReplicas, max: deployments.maxReplicas, target: deployments.targetConcurrency,
      })
      .from(deployments)
      .innerJoin(teams, eq(teams.id, deployments.teamId))
      .where(and(eq(deployments.backend, "local"), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])));
    // Replicas are processes on this host: all deployments together stay under the host's cap.
    let hostTotal = live.reduce((sum, d) => sum + d.replicas, 0);
    // Each team's live replicas on every backend, and its max_replicas (a team without a quota row has no limit).
    const teamIds = [...new Set(live.map((d) => d.teamId))];
    const teamTotal = new Map<string, number>();
    const teamMax = new Map<string, number>();
    if (teamIds.length) {
      const [sums, quotas] = await Promise.all([
        this.db
          .select({ teamId: deployments.teamId, replicas: sql<number>`coalesce(sum(${deployments.replicas}), 0)::int` })
          .from(deployments)
          .where(and(inArray(deployments.teamId, teamIds), inArray(deployments.status, [...LIVE_DEPLOYMENT_STATUSES])))
          .groupBy(deployments.teamId),
        this.db.select({ teamId: teamQuotas.teamId, max: teamQuotas.maxReplicas }).from(teamQuotas).where(inArray(teamQuotas.teamId, teamIds)),
      ]);
      for (const s of sums) teamTotal.set(s.teamId, Number(s.replicas));
      for (const q of quotas) teamMax.set(q.teamId, q.max);
    }
    const outcomes: ScaleOutcome[] = [];
    const seen = new Set<string>();
    for (const d of live) {
      const load = d.status === "ready" ? this.runtime.load(d.id) : null;
      if (!load) continue;
      seen.add(d.id);
      const prev = this.samples.get(d.id);
      this.samples.set(d.id, { inflightMs: load.inflightMs, at: load.at });
      if (this.changing.has(d.id)) continue;
      // The mean in flight since the last tick (time-weighted), or the count now on a first look.
      const inflight = prev && load.at > prev.at ? (load.inflightMs - prev.inflightMs) / (load.at - prev.at) : load.inflight;
      if (!d.autoScale) {
        if (load.desired !== d.replicas) this.carryOut(d.id, d.replicas, load.desired);
        continue;
      }
      const ceilings: Ceiling[] = [{ value: d.max, name: `max_replicas (${d.max})` }];
      const quota = teamMax.get(d.teamId);
      const used = teamTotal.get(d.teamId) ?? d.replicas;
      if (quota !== undefined) ceilings.push({ value: quota - (used - d.replicas), name: `team quota max_replicas (${d.team} runs ${used} of ${quota})` });
      ceilings.push({ value: this.hostReplicasMax - (hostTotal - d.replicas), name: `CAIRN_LOCAL_REPLICAS_MAX (this host runs ${hostTotal} of ${this.hostReplicasMax} replicas)` });
      const decision = decideReplicas({
        now: Date.now(), replicas: d.replicas, inflight, targetConcurrency: d.target, minReplicas: d.min, downWindowMs: this.downWindowMs,
        memory: this.memory.get(d.id) ?? FRESH, ceilings,
      });
      this.memory.set(d.id, decision.memory);
      if (decision.replicas === d.replicas || !decision.reason) {
        if (load.desired !== d.replicas) this.carryOut(d.id, d.replicas, load.desired);
        continue;
      }
      if (!(await this.commit({ id: d.id, teamId: d.teamId, team: d.team }, d.replicas, decision.replicas, decision.reason))) continue;
      hostTotal += decision.replicas - d.replicas;
      teamTotal.set(d.teamId, used + decision.replicas - d.replicas);
      outcomes.push({ deploymentId: d.id, from: d.replicas, to: decision.replicas, reason: decision.reason });
      this.carryOut(d.id, decision.replicas, load.desired);
    }
    for (const id of [...this.samples.keys()]) {
      if (!seen.has(id)) {
        this.samples.delete(id);
        this.memory.delete(id);
      }
    }
    return outcomes;
  }

  /** The new count and its reason, written only if nothing changed the deployment meanwhile. */
  private async commit(d: { id: string; teamId: string; team: string }, from: number, to: number, reason: string): Promise<boolean> {
    const id = d.id;
    return this.db.transaction(async (tx) => {
      if (to > from) {
        // A scale-up fits under the team's max_replicas and the host's cap as counted now, under the locks deploys
        // and PATCHes take too, in their order: the deployment's row, the team's quota row, the host's lock.
        const [still] = await tx.select({ id: deployments.id }).from(deployments)
          .where(and(eq(deployments.id, id), eq(deployments.replicas, from), eq(deployments.autoScale, true), eq(deployments.status, "ready"))).for("update");
        if (!still) return false;
        const room = await lockedReplicaRoom(tx, { id: d.teamId, slug: d.team }, { except: id, hostMax: this.hostReplicasMax });
        if (room.team.max !== null && room.team.used + to > room.team.max) return false;
        if (room.host.used + to > room.host.max) return false;
      }
      const [changed] = await tx
        .update(deployments)
        .set({ replicas: to, scaledAt: new Date() })
        .where(and(eq(deployments.id, id), eq(deployments.replicas, from), eq(deployments.autoScale, true), eq(deployments.status, "ready")))
        .returning({ id: deployments.id });
      if (changed) await tx.insert(deploymentEvents).values({ deploymentId: id, status: "ready", message: reason });
      return Boolean(changed);
    });
  }

  /** Has the replica manager run `to` replicas; if it cannot, the record goes back to what serves, with the reason. */
  private carryOut(id: string, to: number, serving: number): void {
    const change = this.runtime
      .scale(id, to)
      .then(() => undefined)
      .catch(async (err: unknown) => {
        const message = `scaling to ${to} replicas failed, staying at ${serving}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 2000);
        await this.db.transaction(async (tx) => {
          const [changed] = await tx.update(deployments).set({ replicas: serving, scaledAt: new Date() }).where(and(eq(deployments.id, id), eq(deployments.replicas, to))).returning({ id: deployments.id });
          if (changed) await tx.insert(deploymentEvents).values({ deploymentId: id, status: "ready", message });
        });
      })
      .catch((err: unknown) => log.error(`autoscaler could not record a failed scale of deployment ${id}`, { err }))
      .finally(() => this.changing.delete(id));
    this.changing.set(id, change);
  }
}
