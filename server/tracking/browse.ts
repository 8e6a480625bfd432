// The run browser's queries: a page of runs as flat rows (params, latest metrics and tags by key),
// the total that match, and the keys available as columns.
import { and, count, desc, eq, sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { experimentKeys, experimentRunStats, runs } from "@/db/schema";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { loadExperiment } from "./access";
import type { RunRowDto } from "@/lib/schemas/experiments";

export type { RunRowDto };
import { decodeOffset, encodeOffset } from "./experiments";
import { runRows } from "./hydrate";
import { withStatementTimeout, withTeamSlot } from "./query-budget";
import { parseSearch, selectRunPage } from "./run-page";
import { freshStatistics } from "./statistics";


export type BrowseInput = {
  experimentId: string;
  filter?: string;
  orderBy?: string[];
  pageSize: number;
  pageToken?: string;
  view?: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL";
};

/**
 * `total`: how many runs match. Without a filter it is exact, read from the experiment's counts (migration
 * 0036); with one it is counted up to FILTERED_COUNT_CAP, and `total_capped` says there are more (the page
 * then says "10,000+"), so no page view counts more than that many runs.
 */
export type BrowseResult = { runs: RunRowDto[]; total: number; total_capped: boolean; offset: number; next_page_token: string | null };

/** How many matching runs a filtered page counts at most. */
export const FILTERED_COUNT_CAP = 10_000;

export async function browseRuns(ctx: Ctx, input: BrowseInput): Promise<BrowseResult> {
  const exp = await loadExperiment(ctx, input.experimentId, { mode: "read" });
  if (input.pageSize < 1 || input.pageSize > 1000) throw new AppError("invalid_input", "page_size must be between 1 and 1000.");
  const { where, orders, drivers } = parseSearch(input.filter ?? "", input.orderBy ?? []);
  const view = input.view ?? "ACTIVE_ONLY";
  const scope = and(
    eq(runs.experimentId, exp.id),
    eq(runs.teamId, exp.teamId),
    view === "ALL" ? undefined : eq(runs.lifecycleStage, view === "ACTIVE_ONLY" ? "active" : "deleted"),
    where,
  );
  const offset = decodeOffset(input.pageToken);
  // Planned on current statistics: the first page after a bulk load or restore waits for one ANALYZE.
  await freshStatistics(ctx.db);
  // The page, the total and the page's data one after another under the statement timeout: one connection at a
  // time per request, so a team's slots bound how many of the database's cores its searches take.
  const read = () => withStatementTimeout(ctx.db, "search", async (tx) => {
    // One run beyond the page says whether there is a next page, whatever the total says.
    const page = await selectRunPage(tx, scope, orders, input.pageSize + 1, offset, drivers);
    const total = where === undefined ? await unfilteredTotal(tx, exp.id, view) : await cappedCount(tx, scope);
    return { rows: await runRows(tx, page.slice(0, input.pageSize).map((r) => r.id)), more: page.length > input.pageSize, ...total };
  });
  const heavy = where !== undefined || orders.length > 0;
  const { rows, more, n, capped } = heavy ? await withTeamSlot({ id: exp.teamId, slug: exp.teamSlug }, "search", read) : await read();
  return {
    runs: rows,
    // A count taken a moment before the page never says fewer runs than the page shows.
    total: Math.max(n, offset + rows.length + (more ? 1 : 0)),
    total_capped: capped,
    offset,
    next_page_token: more ? encodeOffset(offset + rows.length) : null,
  };
}

/** The experiment's runs in the view, from its counts (kept by triggers on runs): one row read. */
async function unfilteredTotal(tx: DbOrTx, experimentId: number, view: "ACTIVE_ONLY" | "DELETED_ONLY" | "ALL"): Promise<{ n: number; capped: boolean }> {
  const [stats] = await tx
    .select({ active: experimentRunStats.activeRuns, deleted: experimentRunStats.deletedRuns })
    .from(experimentRunStats)
    .where(eq(experimentRunStats.experimentId, experimentId));
  const active = Number(stats?.active ?? 0);
  const deleted = Number(stats?.deleted ?? 0);
  return { n: view === "ACTIVE_ONLY" ? active : view === "DELETED_ONLY" ? deleted : active + deleted, capped: false };
}

/** The runs matching `scope`, counted up to FILTERED_COUNT_CAP (capped: there are more). */
async function cappedCount(tx: DbOrTx, scope: SQL | undefined): Promise<{ n: number; capped: boolean }> {
  const limited = tx.select({ one: sql`1` }).from(runs).where(scope).limit(FILTERED_COUNT_CAP + 1).as("limited");
  const [counted] = await tx.select({ n: count() }).from(limited);
  const n = Number(counted?.n ?? 0);
  return n > FILTERED_COUNT_CAP ? { n: FILTERED_COUNT_CAP, capped: true } : { n, capped: false };
}

export type ExperimentColumns = { params: string[]; metrics: string[]; tags: string[] };

/** The keys the experiment's runs have logged, for the column chooser and filter autocomplete. */
export async function experimentColumns(ctx: Ctx, experimentId: string): Promise<ExperimentColumns> {
  const exp = await loadExperiment(ctx, experimentId, { mode: "read" });
  const rows = await ctx.db
    .select({ kind: experimentKeys.kind, key: experimentKeys.key })
    .from(experimentKeys)
    .where(eq(experimentKeys.experimentId, exp.id))
    .orderBy(experimentKeys.key);
  const of = (kind: string) => rows.filter((r) => r.kind === kind).map((r) => r.key);
  return { params: of("param"), metrics: of("metric"), tags: of("tag") };
}

/** Direct children of a run (nested runs), newest first. */
export async function childRuns(ctx: Ctx, runId: string): Promise<{ run_id: string; run_name: string; status: string; start_time: number }[]> {
  const rows = await ctx.db
    .select({ run_id: runs.id, run_name: runs.name, status: runs.status, start_time: runs.startTime, teamId: runs.teamId })
    .from(runs)
    .where(and(eq(runs.parentRunId, runId), eq(runs.lifecycleStage, "active")))
    .orderBy(desc(runs.startTime))
    .limit(500);
  return rows.filter((r) => ctx.actor.isAdmin || ctx.actor.memberships.some((m) => m.teamId === r.teamId)).map(({ teamId: _t, ...r }) => r);
}
