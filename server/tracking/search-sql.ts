// Compiles a parsed search filter / order_by (lib/search/filter.ts) to drizzle SQL over the `runs` table.
// Every key, value and pattern from the user is a bound parameter; the SQL text holds only operators and
// identifiers chosen here, so no filter can change the shape of the query. The conditions refer to the
// un-aliased `runs` table (correlated subqueries), so use them in queries that select from `runs`.
//
// Cost: the conditions of one AND or OR group on one table (params, latest metrics, tags, datasets) are
// checked in one pass over the run's rows of that table — one correlated subquery per table and group,
// not one per condition. A subquery per condition made PostgreSQL plan one semi-join each: 20 conditions
// took 2 s to plan, 200 ran past a minute (issue 12).
import { sql } from "drizzle-orm";
import type { SQL, SQLWrapper } from "drizzle-orm";
import type { AnyPgColumn, PgTable } from "drizzle-orm/pg-core";
import { datasets, latestMetrics, params, runInputs, runTags, runs } from "@/db/schema";
import { PARAM_RANGE_OPS } from "@/lib/search/filter";
import type { Comparison, CompareOp, Entity, FilterNode, OrderBy } from "@/lib/search/filter";

type Value = Comparison["value"];
type ValueType = "string" | "number";
type KeyValueSource = { table: PgTable; runId: AnyPgColumn; key: AnyPgColumn; value: AnyPgColumn; valueType: ValueType };

const SOURCES = {
  metric: { table: latestMetrics, runId: latestMetrics.runId, key: latestMetrics.key, value: latestMetrics.value, valueType: "number" },
  param: { table: params, runId: params.runId, key: params.key, value: params.value, valueType: "string" },
  tag: { table: runTags, runId: runTags.runId, key: runTags.key, value: runTags.value, valueType: "string" },
} satisfies Record<"metric" | "param" | "tag", KeyValueSource>;

const ATTRIBUTE_COLUMNS = new Map<string, { column: AnyPgColumn; valueType: ValueType }>([
  ["run_id", { column: runs.id, valueType: "string" }],
  ["run_name", { column: runs.name, valueType: "string" }],
  ["status", { column: runs.status, valueType: "string" }],
  ["user_id", { column: runs.userId, valueType: "string" }],
  ["artifact_uri", { column: runs.artifactUri, valueType: "string" }],
  ["start_time", { column: runs.startTime, valueType: "number" }],
  ["created", { column: runs.startTime, valueType: "number" }],
  ["end_time", { column: runs.endTime, valueType: "number" }],
]);

/** The input tag MLflow uses for a dataset's role in a run ("training", "eval", ...). */
const CONTEXT_TAG = "mlflow.data.context";

/** A boolean SQL condition over `runs` for the filter tree. */
export function compileFilter(node: FilterNode): SQL {
  switch (node.type) {
    case "cmp":
      return compileComparison(node);
    case "and":
    case "or":
      return compileGroup(node.type, node.children);
    default:
      throw new Error(`Unknown filter node ${JSON.stringify(node satisfies never)}`);
  }
}

type GroupedKind = "metric" | "param" | "tag" | "dataset";

/**
 * A group's comparisons on one table become one pass over that table (see `keyValueGroup` and
 * `datasetGroup`); a table with a single comparison keeps its plain EXISTS, which the planner turns into
 * an index-driven semi-join. Attributes are columns of `runs` and need no subquery.
 */
function compileGroup(type: "and" | "or", children: FilterNode[]): SQL {
  // An empty group is what its identity element says: AND of nothing is true, OR of nothing false.
  if (children.length === 0) return type === "and" ? sql`true` : sql`false`;
  const parts: SQL[] = [];
  const byTable = new Map<GroupedKind, Comparison[]>();
  for (const child of children) {
    if (child.type === "cmp" && child.entity.kind !== "attribute") {
      const list = byTable.get(child.entity.kind) ?? [];
      list.push(child);
      byTable.set(child.entity.kind, list);
    } else {
      parts.push(compileFilter(child));
    }
  }
  for (const [kind, comparisons] of byTable) {
    if (comparisons.length === 1) parts.push(compileComparison(comparisons[0]!));
    else if (kind === "dataset") parts.push(datasetGroup(type, comparisons));
    else parts.push(...keyValueGroup(SOURCES[kind], type, comparisons));
  }
  if (parts.length === 1) return parts[0]!;
  return sql`(${sql.join(parts, type === "and" ? sql` and ` : sql` or `)})`;
}

/**
 * Several comparisons on one key-value table in one group, in one pass over the run's rows of the
 * table with those keys: each comparison is "some row has the key and a matching value"
 * (`bool_or(key = k and value …)`), IS NULL is "no row has the key" — exactly what one EXISTS per
 * comparison said, since a run has at most one row per key. In an AND group, one equality (= or IN) is
 * also kept as an EXISTS, so the planner can still start from the few runs it selects through the
 * (key, value) index instead of checking every run of the experiment. A range is not: it rarely selects
 * few runs, and as a semi-join it made the planner check every run before a metric sort could stop early.
 */
function keyValueGroup(s: KeyValueSource, type: "and" | "or", comparisons: Comparison[]): SQL[] {
  const keys = sql.join([...new Set(comparisons.map((c) => c.entity.key))].map((k) => sql`${k}`), sql`, `);
  const rowsOfRun = sql`from ${s.table} where ${s.runId} = ${runs.id} and ${s.key} in (${keys})`;
  const matches = (c: Comparison) => {
    const hasKey = sql`${s.key} = ${c.entity.key}`;
    return c.op === "IS NOT NULL" ? hasKey : sql`(${hasKey} and ${compareValue(s, c.op, c.value)})`;
  };
  const absent = comparisons.filter((c) => c.op === "IS NULL");
  const present = comparisons.filter((c) => c.op !== "IS NULL");
  if (type === "or") {
    // Any row matching any comparison, or any IS NULL key missing. Without IS NULL this is one EXISTS,
    // which PostgreSQL may also run as one hashed set of run ids.
    const anyRow = sql.join(present.map(matches), sql` or `);
    if (absent.length === 0) return [sql`exists (select 1 ${rowsOfRun} and (${anyRow}))`];
    const missing = absent.map((c) => sql`not coalesce(bool_or(${s.key} = ${c.entity.key}), false)`);
    const terms = present.length > 0 ? [sql`coalesce(bool_or(${anyRow}), false)`, ...missing] : missing;
    return [sql`(select ${sql.join(terms, sql` or `)} ${rowsOfRun})`];
  }
  const terms = [
    ...present.map((c) => sql`coalesce(bool_or(${matches(c)}), false)`),
    ...absent.map((c) => sql`not coalesce(bool_or(${s.key} = ${c.entity.key}), false)`),
  ];
  const onePass = sql`(select ${sql.join(terms, sql` and `)} ${rowsOfRun})`;
  const driver = present.find((c) => c.op === "=" || c.op === "IN");
  return driver ? [compileKeyValue(s, driver.entity.key, driver.op, driver.value), onePass] : [onePass];
}

/** Several dataset comparisons in one group: one pass over the run's inputs (`bool_or` per comparison). */
function datasetGroup(type: "and" | "or", comparisons: Comparison[]): SQL {
  const inputsOfRun = sql`from ${runInputs} inner join ${datasets} on ${datasets.id} = ${runInputs.datasetId} where ${runInputs.runId} = ${runs.id}`;
  const conditions = comparisons.map((c) => datasetCondition(c.entity.key, c.op, c.value));
  if (type === "or") return sql`exists (select 1 ${inputsOfRun} and (${sql.join(conditions, sql` or `)}))`;
  return sql`(select ${sql.join(conditions.map((c) => sql`coalesce(bool_or(${c}), false)`), sql` and `)} ${inputsOfRun})`;
}

/**
 * A direction-less ORDER BY expression: apply ASC/DESC from `order.ascending` and always NULLS LAST,
 * so runs lacking the metric, param or tag sort after the others in both directions.
 */
export function compileOrderBy(order: OrderBy): { expression: SQL; nullsLast: true } {
  const { entity } = order;
  if (entity.kind === "metric" || entity.kind === "param" || entity.kind === "tag") {
    const s: KeyValueSource = SOURCES[entity.kind];
    return { expression: sql`(select ${s.value} from ${s.table} where ${s.runId} = ${runs.id} and ${s.key} = ${entity.key})`, nullsLast: true };
  }
  if (entity.kind === "attribute") return { expression: sql`${attribute(entity).column}`, nullsLast: true };
  throw new Error(`Runs cannot be ordered by ${entity.kind} fields`);
}

function compileComparison(c: Comparison): SQL {
  const { entity, op, value } = c;
  switch (entity.kind) {
    case "metric":
    case "param":
    case "tag":
      return compileKeyValue(SOURCES[entity.kind], entity.key, op, value);
    case "attribute": {
      const { column, valueType } = attribute(entity);
      return compare(column, op, value, valueType, column === runs.startTime || column === runs.endTime);
    }
    case "dataset":
      return compileDataset(entity.key, op, value);
  }
}

function attribute(entity: Entity): { column: AnyPgColumn; valueType: ValueType } {
  const found = ATTRIBUTE_COLUMNS.get(entity.key);
  if (!found) throw new Error(`Unknown run attribute "${entity.key}"`);
  return found;
}

/**
 * MLflow semantics: a comparison holds when the run has the key with a matching value, so `!=` and
 * NOT IN need the key to be present; IS NULL / IS NOT NULL test absence / presence of the key.
 */
function compileKeyValue(s: KeyValueSource, key: string, op: CompareOp, value: Value): SQL {
  const present = sql`select 1 from ${s.table} where ${s.runId} = ${runs.id} and ${s.key} = ${key}`;
  if (op === "IS NULL") return sql`not exists (${present})`;
  if (op === "IS NOT NULL") return sql`exists (${present})`;
  return sql`exists (${present} and ${compareValue(s, op, value)})`;
}

/**
 * A plain-decimal number, as PostgreSQL's numeric reads it (no NaN or Infinity). The exponent has at most three
 * digits, so the cast never overflows: numeric takes exponents up to ±1000, and a param value is ≤ 6,000 characters.
 */
const NUMERIC_TEXT = "^\\s*[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]{1,3})?\\s*$";

/** The value column of a key-value row compared with the filter's value; a param range with a number compares numbers. */
function compareValue(s: KeyValueSource, op: CompareOp, value: Value): SQL {
  if (s.valueType === "string" && typeof value === "number" && s.table === params && PARAM_RANGE_OPS.includes(op)) {
    if (!Number.isFinite(value)) throw new Error(`Operator ${op} needs a finite number, got ${value}`);
    // CASE keeps the cast away from values that are not numbers ("adam", "NaN"): they never match a range.
    const number = sql`(case when ${s.value} ~ ${NUMERIC_TEXT} then ${s.value}::numeric end)`;
    return compare(number, op, value, "number", false, sql`::numeric`);
  }
  return compare(s.value, op, value, s.valueType, false);
}

function compileDataset(key: string, op: CompareOp, value: Value): SQL {
  const condition = datasetCondition(key, op, value);
  return sql`exists (select 1 from ${runInputs} inner join ${datasets} on ${datasets.id} = ${runInputs.datasetId} where ${runInputs.runId} = ${runs.id} and ${condition})`;
}

/** The comparison on one input of the run (a run_inputs row joined to its dataset). */
function datasetCondition(key: string, op: CompareOp, value: Value): SQL {
  if (key === "name") return compare(datasets.name, op, value, "string", false);
  if (key === "digest") return compare(datasets.digest, op, value, "string", false);
  if (key === "context") {
    // run_inputs.tags is a jsonb array of {key, value}; the context is the value of one of them.
    const tagValue = sql`(input_tag.tag ->> 'value')`;
    return sql`exists (select 1 from jsonb_array_elements(${runInputs.tags}) as input_tag(tag) where (input_tag.tag ->> 'key') = ${CONTEXT_TAG} and ${compare(tagValue, op, value, "string", false)})`;
  }
  throw new Error(`Unknown dataset field "${key}"`);
}

/** `left <op> value` with the value bound; `bigintColumn` marks runs.start_time / end_time. */
function compare(left: SQLWrapper, op: CompareOp, value: Value, valueType: ValueType, bigintColumn: boolean, cast?: SQL): SQL {
  const one = () => (cast ? sql`${scalar(value, valueType, op)}${cast}` : bind(scalar(value, valueType, op), bigintColumn));
  switch (op) {
    case "=": return sql`${left} = ${one()}`;
    case "!=": return sql`${left} <> ${one()}`;
    case ">": return sql`${left} > ${one()}`;
    case ">=": return sql`${left} >= ${one()}`;
    case "<": return sql`${left} < ${one()}`;
    case "<=": return sql`${left} <= ${one()}`;
    case "LIKE": return sql`${left} like ${pattern(value, op)}`;
    case "ILIKE": return sql`${left} ilike ${pattern(value, op)}`;
    case "IN": return sql`${left} in (${list(value, valueType, op, bigintColumn)})`;
    case "NOT IN": return sql`${left} not in (${list(value, valueType, op, bigintColumn)})`;
    case "IS NULL": return sql`${left} is null`;
    case "IS NOT NULL": return sql`${left} is not null`;
    default:
      throw new Error(`Unknown operator ${JSON.stringify(op satisfies never)}`);
  }
}

/**
 * A bound value. PostgreSQL types the parameter after the bigint column it meets, which rejects 1.5 or
 * 1e300; those are bound as double precision instead (exact for epoch milliseconds).
 */
function bind(value: string | number, bigintColumn: boolean): SQL {
  if (bigintColumn && typeof value === "number" && !Number.isSafeInteger(value)) return sql`${value}::double precision`;
  return sql`${value}`;
}

// The parser guarantees these shapes; trees built elsewhere (saved views, API callers) are checked
// here too so a wrong type fails clearly instead of as a database cast error.
function scalar(value: Value, valueType: ValueType, op: CompareOp): string | number {
  if (valueType === "number" ? typeof value === "number" && Number.isFinite(value) : typeof value === "string") return value as string | number;
  throw new Error(`Operator ${op} needs a ${valueType} value, got ${JSON.stringify(value)}`);
}

function pattern(value: Value, op: CompareOp): string {
  if (typeof value !== "string") throw new Error(`Operator ${op} needs a string pattern, got ${JSON.stringify(value)}`);
  return value;
}

function list(value: Value, valueType: ValueType, op: CompareOp, bigintColumn: boolean): SQL {
  if (!Array.isArray(value) || value.length === 0) throw new Error(`Operator ${op} needs a non-empty list, got ${JSON.stringify(value)}`);
  return sql.join(value.map((v) => bind(scalar(v, valueType, op), bigintColumn)), sql`, `);
}
