// One page of runs in the requested order. Sorting by a metric, param or tag joins that key's rows
// (walking its (key, value, run_id) index in order and stopping at the page) instead of looking the
// value up per run; runs without the key — or with a NaN metric — follow, as in MLflow.
import { and, asc, count, desc, eq, getTableColumns, not, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { latestMetrics, params, runTags, runs } from "@/db/schema";
import type { OrderBy } from "@/lib/search/filter";
import { FilterSyntaxError, parseFilter, parseOrderBy } from "@/lib/search/filter";
import { AppError } from "../errors";
import { compileFilter, compileOrderBy } from "./search-sql";

export type RunRow = typeof runs.$inferSelect;
export type ParsedSearch = { where: SQL | undefined; orders: OrderBy[] };

const TIE_BREAK = [sql`${runs.startTime} desc nulls last`, asc(runs.id)];
const SOURCES = {
  metric: { table: latestMetrics, runId: latestMetrics.runId, key: latestMetrics.key, value: latestMetrics.value },
  param: { table: params, runId: params.runId, key: params.key, value: params.value },
  tag: { table: runTags, runId: runTags.runId, key: runTags.key, value: runTags.value },
} as const;

function syntaxError(err: unknown, what: "filter" | "order_by", text: string): never {
  if (err instanceof FilterSyntaxError) {
    const caret = `${text}\n${" ".repeat(Math.max(0, err.position))}^`;
    throw new AppError("invalid_input", `Invalid ${what}: ${err.message}\n${caret}`, { fields: { [what]: [err.message] } });
  }
  throw err;
}

export function parseSearch(filter: string, orderBy: string[]): ParsedSearch {
  let where: SQL | undefined;
  try {
    const node = parseFilter(filter);
    where = node ? compileFilter(node) : undefined;
  } catch (err) {
    syntaxError(err, "filter", filter);
  }
  const orders = orderBy.map((clause) => {
    try {
      return parseOrderBy(clause);
    } catch (err) {
      return syntaxError(err, "order_by", clause);
    }
  });
  return { where, orders };
}

/** ORDER BY terms for secondary keys: a per-run lookup, NaN metrics after numbers, missing values last. */
function secondary(orders: OrderBy[]): SQL[] {
  return orders.flatMap((o) => {
    const { expression } = compileOrderBy(o);
    const direction = o.ascending ? sql`${expression} asc nulls last` : sql`${expression} desc nulls last`;
    return o.entity.kind === "metric" ? [sql`(${expression} = 'NaN'::float8) asc nulls last`, direction] : [direction];
  });
}

export async function selectRunPage(db: DbOrTx, scope: SQL | undefined, orders: OrderBy[], limit: number, offset: number): Promise<RunRow[]> {
  const [first, ...rest] = orders;
  if (!first || (first.entity.kind !== "metric" && first.entity.kind !== "param" && first.entity.kind !== "tag")) {
    return db.select().from(runs).where(scope).orderBy(...secondary(orders), ...TIE_BREAK).limit(limit).offset(offset);
  }
  const s = SOURCES[first.entity.kind];
  const isMetric = first.entity.kind === "metric";
  const hasValue = and(eq(s.runId, runs.id), eq(s.key, first.entity.key), isMetric ? sql`${s.value} <> 'NaN'::float8` : undefined);
  const withValue = await db
    .select(getTableColumns(runs))
    .from(runs)
    .innerJoin(s.table, hasValue)
    .where(scope)
    .orderBy(first.ascending ? asc(s.value) : desc(s.value), ...secondary(rest), ...TIE_BREAK)
    .limit(limit)
    .offset(offset);
  if (withValue.length === limit) return withValue;
  // The page runs past the runs that have the key: continue with those that do not.
  const valued = withValue.length > 0
    ? offset + withValue.length
    : Number((await db.select({ n: count() }).from(runs).innerJoin(s.table, hasValue).where(scope))[0]?.n ?? 0);
  const lacking = not(sql`exists (select 1 from ${s.table} where ${hasValue})`);
  const nanFirst = isMetric
    ? [sql`exists (select 1 from ${latestMetrics} where ${latestMetrics.runId} = ${runs.id} and ${latestMetrics.key} = ${first.entity.key}) desc`]
    : [];
  const without = await db
    .select()
    .from(runs)
    .where(and(scope, lacking))
    .orderBy(...nanFirst, ...secondary(rest), ...TIE_BREAK)
    .limit(limit - withValue.length)
    .offset(Math.max(0, offset - valued));
  return [...withValue, ...without];
}
