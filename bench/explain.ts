// Captures the exact SQL a service call sends (by watching pg.Client#query for the duration of one
// call) and runs EXPLAIN (ANALYZE, BUFFERS) on each statement with its bound values. Writes are
// explained inside a transaction that is rolled back.
import pg from "pg";
import { round } from "./stats";

export type CapturedQuery = { text: string; values: unknown[] };
export type ExplainedQuery = CapturedQuery & { plan: string; executionMs: number | null; planningMs: number | null };

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/** Runs `fn` and returns the statements every pg.Client except `exclude` sent meanwhile. */
export async function captureQueries<T>(fn: () => Promise<T>, exclude?: pg.Client): Promise<{ result: T; queries: CapturedQuery[] }> {
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  const queries: CapturedQuery[] = [];
  proto.query = function (this: pg.Client, ...args: unknown[]) {
    if (this !== exclude) {
      const [config, values] = args;
      if (typeof config === "string") queries.push({ text: config, values: Array.isArray(values) ? values : [] });
      else if (config && typeof config === "object" && "text" in config && typeof config.text === "string") {
        const v = Array.isArray(values) ? values : "values" in config && Array.isArray(config.values) ? config.values : [];
        queries.push({ text: config.text, values: v });
      }
    }
    return original.apply(this, args);
  };
  try {
    const result = await fn();
    return { result, queries };
  } finally {
    proto.query = original;
  }
}

const EXPLAINABLE = /^\s*(select|with|insert|update|delete)\b/i;
const WRITE = /^\s*(insert|update|delete)\b/i;

export async function explainAll(raw: pg.Client, queries: CapturedQuery[]): Promise<ExplainedQuery[]> {
  const out: ExplainedQuery[] = [];
  for (const q of queries) {
    if (!EXPLAINABLE.test(q.text)) continue;
    const write = WRITE.test(q.text);
    if (write) await raw.query("begin");
    try {
      const res = await raw.query<{ "QUERY PLAN": string }>(`explain (analyze, buffers) ${q.text}`, q.values);
      const plan = res.rows.map((r) => r["QUERY PLAN"]).join("\n");
      const exec = /Execution Time: ([\d.]+) ms/.exec(plan);
      const planning = /Planning Time: ([\d.]+) ms/.exec(plan);
      out.push({ ...q, plan, executionMs: exec ? round(Number(exec[1])) : null, planningMs: planning ? round(Number(planning[1])) : null });
    } catch (err) {
      out.push({ ...q, plan: `EXPLAIN failed: ${err instanceof Error ? err.message : String(err)}`, executionMs: null, planningMs: null });
    } finally {
      if (write) await raw.query("rollback");
    }
  }
  return out;
}

function showValues(values: unknown[]): string {
  const text = JSON.stringify(values);
  return text.length > 400 ? `${text.slice(0, 400)}… (${values.length} values)` : text;
}

export function formatExplained(title: string, explained: ExplainedQuery[]): string {
  const parts = [`# ${title}`, ""];
  explained.forEach((e, i) => {
    const text = e.text.length > 4000 ? `${e.text.slice(0, 4000)}…` : e.text;
    parts.push(`## Statement ${i + 1} (execution ${e.executionMs ?? "?"} ms, planning ${e.planningMs ?? "?"} ms)`, "", text.trim(), "", `values: ${showValues(e.values)}`, "", e.plan, "");
  });
  return parts.join("\n");
}
