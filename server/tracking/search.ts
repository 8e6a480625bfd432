// search_runs: MLflow's filter grammar (plus OR and parentheses) compiled to SQL with bound
// parameters, ordered by metrics, params, tags or attributes, paged with an offset token. The search
// runs under the query budget (query-budget.ts): a statement timeout, and a team slot when filtered or ordered.
import { and, eq, inArray } from "drizzle-orm";
import { runs } from "@/db/schema";
import type { SearchRunsInput } from "@/lib/schemas/mlflow";
import type { Ctx } from "../context";
import { RawJson } from "../http/raw-json";
import { loadExperiments } from "./access";
import type { RunDto } from "./dto";
import { decodeOffset, encodeOffset } from "./experiments";
import { runsJson } from "./hydrate";
import { withStatementTimeout, withTeamSlot } from "./query-budget";
import { parseSearch, selectRunPage } from "./run-page";
import { freshStatistics } from "./statistics";

/** A page of runs as MLflow's search answer, parsed (for callers inside the server). */
export async function searchRuns(ctx: Ctx, input: SearchRunsInput): Promise<{ runs: RunDto[]; next_page_token?: string }> {
  return JSON.parse((await searchRunsJson(ctx, input)).text) as { runs: RunDto[]; next_page_token?: string };
}

/** A page of runs as the JSON text of MLflow's search answer, built by the database (see hydrate.ts). */
export async function searchRunsJson(ctx: Ctx, input: SearchRunsInput): Promise<RawJson> {
  const experimentIds = [...new Set(input.experiment_ids)];
  // Every experiment must be readable: another team's id answers "not found", never an empty page. One statement
  // for all of them (up to 100), not one each: a search's ids are read before any budget applies.
  const refs = await loadExperiments(ctx, experimentIds, { mode: "read" });
  const { where, orders, drivers } = parseSearch(input.filter, input.order_by);
  const offset = decodeOffset(input.page_token);
  const lifecycle = input.run_view_type === "ALL" ? undefined : eq(runs.lifecycleStage, input.run_view_type === "ACTIVE_ONLY" ? "active" : "deleted");
  // Planned on current statistics: the first search after a bulk load or restore waits for one ANALYZE.
  await freshStatistics(ctx.db);
  const scope = and(inArray(runs.experimentId, refs.map((r) => r.id)), inArray(runs.teamId, [...new Set(refs.map((r) => r.teamId))]), lifecycle, where);
  // The page, then its runs' data, under the statement timeout: a search holds one database
  // connection at a time, so a team's slots bound how many of the database's cores its searches take.
  const read = () => withStatementTimeout(ctx.db, "search", async (tx) => {
    const rows = await selectRunPage(tx, scope, orders, input.max_results + 1, offset, drivers);
    const page = await runsJson(tx, rows.slice(0, input.max_results).map((r) => r.id));
    const next = rows.length > input.max_results ? `,"next_page_token":${JSON.stringify(encodeOffset(offset + input.max_results))}` : "";
    return new RawJson(`{"runs":${page}${next}}`);
  });
  if (where === undefined && orders.length === 0) return read();
  // A search over several teams' experiments (admins only) counts against the first team's slots.
  const [first] = [...refs].sort((a, b) => a.teamSlug.localeCompare(b.teamSlug));
  return withTeamSlot({ id: first!.teamId, slug: first!.teamSlug }, "search", read);
}
