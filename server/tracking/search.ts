// search_runs: MLflow's filter grammar (plus OR and parentheses) compiled to SQL with bound
// parameters, ordered by metrics, params, tags or attributes, paged with an offset token.
import { and, asc, desc, eq, inArray, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { runs } from "@/db/schema";
import { FilterSyntaxError, parseFilter, parseOrderBy } from "@/lib/search/filter";
import type { SearchRunsInput } from "@/lib/schemas/mlflow";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadExperiment } from "./access";
import type { RunDto } from "./dto";
import { decodeOffset, encodeOffset } from "./experiments";
import { hydrateRuns } from "./hydrate";
import { compileFilter, compileOrderBy } from "./search-sql";

function syntaxError(err: unknown, what: "filter" | "order_by", text: string): never {
  if (err instanceof FilterSyntaxError) {
    const caret = `${text}\n${" ".repeat(Math.max(0, err.position))}^`;
    throw new AppError("invalid_input", `Invalid ${what}: ${err.message}\n${caret}`, { fields: { [what]: [err.message] } });
  }
  throw err;
}

export function compileSearch(filter: string, orderBy: string[]): { where: SQL | undefined; order: SQL[] } {
  let where: SQL | undefined;
  try {
    const node = parseFilter(filter);
    where = node ? compileFilter(node) : undefined;
  } catch (err) {
    syntaxError(err, "filter", filter);
  }
  const order: SQL[] = [];
  for (const clause of orderBy) {
    try {
      const parsed = parseOrderBy(clause);
      const { expression } = compileOrderBy(parsed);
      // As in MLflow, NaN metrics sort after every number (PostgreSQL ranks NaN highest), in both directions.
      if (parsed.entity.kind === "metric") order.push(sql`(${expression} = 'NaN'::float8) asc nulls last`);
      order.push(parsed.ascending ? sql`${expression} asc nulls last` : sql`${expression} desc nulls last`);
    } catch (err) {
      syntaxError(err, "order_by", clause);
    }
  }
  return { where, order };
}

export async function searchRuns(ctx: Ctx, input: SearchRunsInput): Promise<{ runs: RunDto[]; next_page_token?: string }> {
  const experimentIds = [...new Set(input.experiment_ids)];
  // Every experiment must be readable: another team's id answers "not found", never an empty page.
  const refs = await Promise.all(experimentIds.map((id) => loadExperiment(ctx, id, { mode: "read" })));
  const { where, order } = compileSearch(input.filter, input.order_by);
  const offset = decodeOffset(input.page_token);
  const lifecycle = input.run_view_type === "ALL" ? undefined : eq(runs.lifecycleStage, input.run_view_type === "ACTIVE_ONLY" ? "active" : "deleted");
  const rows = await ctx.db
    .select()
    .from(runs)
    .where(and(inArray(runs.experimentId, refs.map((r) => r.id)), inArray(runs.teamId, [...new Set(refs.map((r) => r.teamId))]), lifecycle, where))
    .orderBy(...order, desc(runs.startTime), asc(runs.id))
    .limit(input.max_results + 1)
    .offset(offset);
  const page = rows.slice(0, input.max_results);
  return {
    runs: await hydrateRuns(ctx.db, page),
    ...(rows.length > input.max_results ? { next_page_token: encodeOffset(offset + input.max_results) } : {}),
  };
}
