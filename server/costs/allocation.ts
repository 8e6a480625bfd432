// Cost allocation (GET /api/v1/costs/allocation, the Costs page, chargeback CSV): the ledger over a window,
// grouped by team, user, experiment, job, run, model, model version or deployment environment, each group split
// into CPU, memory, GPU (by type) and storage, with requested vs used, efficiency and idle cost where usage was
// measured, and — for what serves predictions — the cost per 1,000 predictions. Names come from the live rows,
// else the name the ledger kept when it metered (a deleted object shows its last known name).
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { AllocationDto, AllocationGrouping, AllocationQuery, AllocationRow, UsageMeasured } from "@/lib/schemas/costs";
import { readableTeamIds } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { homeTeam } from "../tracking/access";

const DAY_MS = 86_400_000;
const MAX_SPAN_DAYS = 400;

/** A job row's model version: the first version registered from its run (its training produced it). */
const RUN_MODEL = sql.raw(`(select rm.name from model_versions mv join registered_models rm on rm.id = mv.model_id where mv.run_id = l.run_id order by mv.version limit 1)`);
const RUN_MODEL_VERSION = sql.raw(`(select rm.name || ' v' || mv.version from model_versions mv join registered_models rm on rm.id = mv.model_id where mv.run_id = l.run_id order by mv.version limit 1)`);

/** What a row that is not of the grouping's kind is called (serving cost when grouped by job, …). */
const OTHER = sql.raw(`case l.subject_kind when 'job' then 'Training jobs' when 'deployment' then 'Serving (deployments)' else 'Stored artifacts' end`);

type Grouping = { key: SQL; name: SQL; join?: SQL };

function grouping(by: AllocationGrouping): Grouping {
  switch (by) {
    case "team":
      return { key: sql`t.slug`, name: sql`t.name` };
    case "user":
      return {
        key: sql`coalesce(nullif(l.user_email, ''), '~' || l.subject_kind)`,
        name: sql`case when l.user_email = '' then 'Team storage (no user)' else coalesce(u.name || ' <' || l.user_email || '>', l.user_email) end`,
        join: sql`left join users u on u.email = l.user_email`,
      };
    case "experiment":
      return {
        key: sql`coalesce(l.experiment_id::text, '~' || l.subject_kind)`,
        name: sql`case when l.experiment_id is null then ${OTHER} || ' (no experiment)' else coalesce(e.name, l.experiment_name, '(deleted experiment)') end`,
        join: sql`left join experiments e on e.id = l.experiment_id`,
      };
    case "job":
      return {
        key: sql`case when l.subject_kind = 'job' then l.subject_id else '~' || l.subject_kind end`,
        name: sql`case when l.subject_kind = 'job' then coalesce(j.name, l.subject_name) else ${OTHER} || ' (not a job)' end`,
        join: sql`left join jobs j on l.subject_kind = 'job' and j.id::text = l.subject_id`,
      };
    case "run":
      return {
        key: sql`coalesce(l.run_id, '~' || l.subject_kind)`,
        name: sql`case when l.run_id is null then ${OTHER} || ' (no run)' else coalesce(r.name, l.run_name, '(deleted run)') end`,
        join: sql`left join runs r on r.id = l.run_id`,
      };
    case "model":
      return {
        key: sql`coalesce(l.model_name, ${RUN_MODEL}, '~' || l.subject_kind)`,
        name: sql`coalesce(l.model_name, ${RUN_MODEL}, ${OTHER} || ' (no registered model)')`,
      };
    case "model_version":
      return {
        key: sql`coalesce(l.model_name || ' v' || l.model_version, ${RUN_MODEL_VERSION}, '~' || l.subject_kind)`,
        name: sql`coalesce(l.model_name || ' v' || l.model_version, ${RUN_MODEL_VERSION}, ${OTHER} || ' (no model version)')`,
      };
    case "environment":
      return {
        key: sql`coalesce(l.environment, '~' || l.subject_kind)`,
        name: sql`coalesce(l.environment, case l.subject_kind when 'job' then 'training (jobs)' else 'storage' end)`,
      };
  }
}

/** Predictions served in the window, keyed as the grouping keys serving cost (null: the grouping has none). */
function predictionKey(by: AllocationGrouping): SQL | null {
  switch (by) {
    case "team": return sql`t.slug`;
    case "model": return sql`d.model_name`;
    case "model_version": return sql`d.model_name || ' v' || m.version`;
    case "environment": return sql`d.environment`;
    default: return null;
  }
}

function instant(value: string | undefined, what: "from" | "to", fallback: Date): Date {
  if (value === undefined || value === "") return fallback;
  const ok = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value);
  const at = ok ? new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value) : new Date(Number.NaN);
  // A day that does not exist (2026-02-30) is refused rather than rolled over into the next month.
  const [y, m, d] = value.slice(0, 10).split("-").map(Number) as [number, number, number];
  const real = new Date(Date.UTC(y, m - 1, d));
  const exists = real.getUTCFullYear() === y && real.getUTCMonth() === m - 1 && real.getUTCDate() === d;
  if (Number.isNaN(at.getTime()) || !exists) {
    // A "+" in a query string arrives as a space: say so when the offset looks like one that lost it.
    const plus = / \d{2}:?\d{2}$/.test(value) ? " (a '+' in a URL must be written %2B)" : "";
    throw new AppError("invalid_input", `${what} must be an ISO date or date-time such as 2026-11-01 or 2026-11-01T00:00:00Z; got '${value}'${plus}.`, { fields: { [what]: ["use an ISO date (YYYY-MM-DD) or date-time"] } });
  }
  return at;
}

export function allocationWindow(input: Pick<AllocationQuery, "from" | "to">, now = new Date()): { from: Date; to: Date } {
  const to = instant(input.to, "to", now);
  const from = instant(input.from, "from", new Date(to.getTime() - 30 * DAY_MS));
  if (from >= to) throw new AppError("invalid_input", `from (${from.toISOString()}) must be before to (${to.toISOString()}).`, { fields: { from: ["must be before to"] } });
  if (to.getTime() - from.getTime() > MAX_SPAN_DAYS * DAY_MS) throw new AppError("invalid_input", `A window can span at most ${MAX_SPAN_DAYS} days; ask for a shorter one.`, { fields: { from: [`at most ${MAX_SPAN_DAYS} days before to`] } });
  return { from, to };
}

type Sums = {
  key: string; name: string; teams: string[] | string;
  total: number; cpu: number; memory: number; gpu: number; storage: number; training: number; serving: number;
  cpu_h: number; mem_h: number; gpu_h: number; storage_h: number;
  measured_cpu_h: number; used_cpu_h: number | null; measured_mem_h: number; used_mem_h: number | null;
  measured_cpu_usd: number; measured_mem_usd: number; note: string | null;
  measured_gpu_h: number; used_gpu_h: number | null; measured_gpu_usd: number;
};

const r4 = (n: number) => Math.round(n * 1e4) / 1e4;
const num = (v: unknown) => Number(v ?? 0);

/**
 * Efficiency and idle cost of what was measured (OpenCost: cost-weighted CPU, memory and GPU efficiency). GPUs count
 * where the DCGM exporter's utilization was read (Kubernetes with PROMETHEUS_URL); elsewhere they are counted as
 * requested, left out of efficiency and idle, and the group is "partly measured" with the ledger's note saying so.
 */
export function efficiencyOf(s: Pick<Sums, "cpu" | "memory" | "gpu" | "measured_cpu_h" | "used_cpu_h" | "measured_mem_h" | "used_mem_h" | "measured_gpu_h" | "used_gpu_h" | "measured_cpu_usd" | "measured_mem_usd" | "measured_gpu_usd" | "note">) {
  const parts = [
    { eff: s.measured_cpu_h > 0 && s.used_cpu_h !== null ? s.used_cpu_h / s.measured_cpu_h : null, usd: s.measured_cpu_usd },
    { eff: s.measured_mem_h > 0 && s.used_mem_h !== null ? s.used_mem_h / s.measured_mem_h : null, usd: s.measured_mem_usd },
    { eff: s.measured_gpu_h > 0 && s.used_gpu_h !== null ? s.used_gpu_h / s.measured_gpu_h : null, usd: s.measured_gpu_usd },
  ];
  const [cpuEff, memEff, gpuEff] = parts.map((p) => p.eff) as [number | null, number | null, number | null];
  const known = parts.filter((p) => p.eff !== null) as { eff: number; usd: number }[];
  const weight = known.reduce((w, p) => w + p.usd, 0);
  const efficiency = weight > 0 ? known.reduce((e, p) => e + p.eff * p.usd, 0) / weight : known[0]?.eff ?? null;
  const idle = known.length === 0 ? null : known.reduce((i, p) => i + p.usd * Math.max(0, 1 - p.eff), 0);
  const costed = s.cpu + s.memory + s.gpu;
  const measured = known.reduce((m, p) => m + p.usd, 0);
  const usage: UsageMeasured = measured <= 0 || known.length === 0 ? "not measured" : measured >= costed - 1e-6 ? "measured" : "partly measured";
  return {
    cpu_efficiency: cpuEff === null ? null : r4(cpuEff),
    memory_efficiency: memEff === null ? null : r4(memEff),
    gpu_efficiency: gpuEff === null ? null : r4(gpuEff),
    efficiency: efficiency === null ? null : r4(efficiency),
    idle_usd: idle === null ? null : r4(idle),
    usage,
    usage_note: usage === "measured" ? null : s.note ?? (costed > 0 ? "not measured" : null),
  };
}

type Scope = { teamIds: string[] | undefined; from: Date; to: Date };

function inTeams(column: SQL, teamIds: string[] | undefined): SQL {
  if (teamIds === undefined) return sql`true`;
  if (teamIds.length === 0) return sql`false`;
  return sql`${column} in (${sql.join(teamIds.map((id) => sql`${id}::uuid`), sql`, `)})`;
}

async function sumsBy(ctx: Ctx, g: Grouping, at: Scope): Promise<Sums[]> {
  const measuredCpu = sql.raw(`used_cpu_core_hours is not null`);
  const measuredMem = sql.raw(`used_memory_gib_hours is not null`);
  const measuredGpu = sql.raw(`used_gpu_hours is not null`);
  const result = (await ctx.db.execute(sql`
    with g as (
      select ${g.key} as key, ${g.name} as name, t.slug as team, l.*
      from cost_ledger l join teams t on t.id = l.team_id ${g.join ?? sql``}
      where ${inTeams(sql`l.team_id`, at.teamIds)}
        and l.period_start >= ${at.from.toISOString()}::timestamptz and l.period_start < ${at.to.toISOString()}::timestamptz
    )
    select key, max(name) as name, array_agg(distinct team order by team) as teams,
      sum(amount_usd)::float8 as total, sum(cpu_usd)::float8 as cpu, sum(memory_usd)::float8 as memory,
      sum(gpu_usd)::float8 as gpu, sum(storage_usd)::float8 as storage,
      coalesce(sum(amount_usd) filter (where subject_kind = 'job'), 0)::float8 as training,
      coalesce(sum(amount_usd) filter (where subject_kind = 'deployment'), 0)::float8 as serving,
      coalesce(sum(cpu_core_hours), 0)::float8 as cpu_h, coalesce(sum(memory_gib_hours), 0)::float8 as mem_h,
      coalesce(sum(gpu_hours), 0)::float8 as gpu_h, coalesce(sum(storage_gib_hours), 0)::float8 as storage_h,
      coalesce(sum(cpu_core_hours) filter (where ${measuredCpu}), 0)::float8 as measured_cpu_h, sum(used_cpu_core_hours)::float8 as used_cpu_h,
      coalesce(sum(memory_gib_hours) filter (where ${measuredMem}), 0)::float8 as measured_mem_h, sum(used_memory_gib_hours)::float8 as used_mem_h,
      coalesce(sum(cpu_usd) filter (where ${measuredCpu}), 0)::float8 as measured_cpu_usd,
      coalesce(sum(memory_usd) filter (where ${measuredMem}), 0)::float8 as measured_mem_usd,
      coalesce(sum(gpu_hours) filter (where ${measuredGpu}), 0)::float8 as measured_gpu_h, sum(used_gpu_hours)::float8 as used_gpu_h,
      coalesce(sum(gpu_usd) filter (where ${measuredGpu}), 0)::float8 as measured_gpu_usd,
      max(usage_note) filter (where usage_note is not null and (cpu_usd > 0 or memory_usd > 0 or gpu_usd > 0)) as note
    from g group by key order by total desc, name
  `)) as unknown as { rows: Sums[] };
  return result.rows;
}

async function gpusBy(ctx: Ctx, g: Grouping, at: Scope): Promise<Map<string, AllocationRow["gpu_by_type"]>> {
  const result = (await ctx.db.execute(sql`
    select ${g.key} as key, l.gpu_type as gpu_type, sum(l.gpu_usd)::float8 as usd, coalesce(sum(l.gpu_hours), 0)::float8 as gpu_hours
    from cost_ledger l join teams t on t.id = l.team_id ${g.join ?? sql``}
    where ${inTeams(sql`l.team_id`, at.teamIds)} and l.gpu_type is not null
      and l.period_start >= ${at.from.toISOString()}::timestamptz and l.period_start < ${at.to.toISOString()}::timestamptz
    group by 1, 2 order by 1, 2
  `)) as unknown as { rows: { key: string; gpu_type: string; usd: number; gpu_hours: number }[] };
  const out = new Map<string, AllocationRow["gpu_by_type"]>();
  for (const r of result.rows) out.set(r.key, [...(out.get(r.key) ?? []), { gpu_type: r.gpu_type, usd: r4(num(r.usd)), gpu_hours: r4(num(r.gpu_hours)) }]);
  return out;
}

async function predictionsBy(ctx: Ctx, key: SQL, at: Scope): Promise<Map<string, number>> {
  const result = (await ctx.db.execute(sql`
    select ${key} as key, sum(m.requests)::float8 as n
    from inference_minutes m join deployments d on d.id = m.deployment_id join teams t on t.id = d.team_id
    where ${inTeams(sql`d.team_id`, at.teamIds)}
      and m.minute >= ${at.from.toISOString()}::timestamptz and m.minute < ${at.to.toISOString()}::timestamptz
    group by 1
  `)) as unknown as { rows: { key: string; n: number }[] };
  return new Map(result.rows.map((p) => [p.key, num(p.n)]));
}

export async function getAllocation(ctx: Ctx, input: AllocationQuery, now = new Date()): Promise<AllocationDto> {
  const by = input.by ?? "team";
  const { from, to } = allocationWindow(input, now);
  const teamIds = input.team ? [(await homeTeam(ctx, input.team)).id] : readableTeamIds(ctx.actor);
  const at: Scope = { teamIds, from, to };
  const g = grouping(by);
  const whole: Grouping = { key: sql`'total'`, name: sql`'Total'` };
  const predKey = predictionKey(by);
  const [sums, gpus, totals, totalGpus, predictions, allPredictions] = await Promise.all([
    sumsBy(ctx, g, at), gpusBy(ctx, g, at), sumsBy(ctx, whole, at), gpusBy(ctx, whole, at),
    predKey ? predictionsBy(ctx, predKey, at) : Promise.resolve(null),
    predKey ? predictionsBy(ctx, sql`'total'`, at) : Promise.resolve(null),
  ]);
  const rows = sums.map((s) => toRow(s, gpus.get(s.key) ?? [], predictions ? predictions.get(s.key) ?? 0 : null));
  // Groups that served predictions but cost nothing in the window (not metered yet) still show their predictions.
  for (const [key, n] of predictions ?? []) {
    if (!rows.some((r) => r.key === key)) rows.push(toRow(emptySums(key), [], n));
  }
  const total = toRow(totals[0] ?? emptySums("total"), totalGpus.get("total") ?? [], allPredictions ? allPredictions.get("total") ?? 0 : null);
  return { by, from: from.toISOString(), to: to.toISOString(), currency: "USD", rows, total: { ...total, name: "Total" } };
}

function emptySums(key: string): Sums {
  return { key, name: key, teams: [], total: 0, cpu: 0, memory: 0, gpu: 0, storage: 0, training: 0, serving: 0, cpu_h: 0, mem_h: 0, gpu_h: 0, storage_h: 0, measured_cpu_h: 0, used_cpu_h: null, measured_mem_h: 0, used_mem_h: null, measured_cpu_usd: 0, measured_mem_usd: 0, note: null, measured_gpu_h: 0, used_gpu_h: null, measured_gpu_usd: 0 };
}

/** array_agg comes back as an array from pg and as an array or "{a,b}" text depending on the driver. */
function teamList(v: string[] | string): string[] {
  if (Array.isArray(v)) return v;
  return v.replace(/^\{|\}$/g, "").split(",").filter(Boolean).map((s) => s.replace(/^"|"$/g, ""));
}

function toRow(raw: Sums, gpuByType: AllocationRow["gpu_by_type"], predictions: number | null): AllocationRow {
  const s: Sums = {
    ...raw, used_cpu_h: raw.used_cpu_h === null ? null : num(raw.used_cpu_h), used_mem_h: raw.used_mem_h === null ? null : num(raw.used_mem_h),
    used_gpu_h: raw.used_gpu_h === null || raw.used_gpu_h === undefined ? null : num(raw.used_gpu_h),
  };
  for (const k of ["total", "cpu", "memory", "gpu", "storage", "training", "serving", "cpu_h", "mem_h", "gpu_h", "storage_h", "measured_cpu_h", "measured_mem_h", "measured_gpu_h", "measured_cpu_usd", "measured_mem_usd", "measured_gpu_usd"] as const) s[k] = num(raw[k]);
  const serving = s.serving;
  return {
    key: s.key,
    name: s.name,
    teams: teamList(s.teams),
    total_usd: r4(s.total),
    cpu_usd: r4(s.cpu),
    memory_usd: r4(s.memory),
    gpu_usd: r4(s.gpu),
    gpu_by_type: gpuByType,
    storage_usd: r4(s.storage),
    unsplit_usd: r4(Math.max(0, s.total - s.cpu - s.memory - s.gpu - s.storage)),
    training_usd: r4(s.training),
    serving_usd: r4(serving),
    cpu_core_hours: r4(s.cpu_h),
    memory_gib_hours: r4(s.mem_h),
    gpu_hours: r4(s.gpu_h),
    storage_gib_hours: r4(s.storage_h),
    used_cpu_core_hours: s.used_cpu_h === null ? null : r4(s.used_cpu_h),
    used_memory_gib_hours: s.used_mem_h === null ? null : r4(s.used_mem_h),
    used_gpu_hours: s.used_gpu_h === null ? null : r4(s.used_gpu_h),
    ...efficiencyOf(s),
    predictions,
    cost_per_1000_predictions_usd: predictions ? r4((serving / predictions) * 1000) : null,
  };
}

/** How far back a model version's page looks for its training and serving cost. */
export const MODEL_VERSION_COST_DAYS = 90;

/**
 * A model version's cost over the last 90 days: training (the jobs of the run it was registered from) and serving
 * (its deployments), its predictions and the cost per 1,000; null when it cost nothing and served nothing.
 */
export async function getModelVersionCost(ctx: Ctx, input: { team: string; model: string; version: number }, now = new Date()): Promise<AllocationRow | null> {
  const from = new Date(now.getTime() - MODEL_VERSION_COST_DAYS * DAY_MS);
  const a = await getAllocation(ctx, { by: "model_version", team: input.team, from: from.toISOString(), to: now.toISOString() }, now);
  return a.rows.find((r) => r.key === `${input.model} v${input.version}`) ?? null;
}
