// MLflow's search_runs filter grammar (https://mlflow.org/docs/latest/search-runs), extended with OR and
// parentheses, plus its order_by clause. Isomorphic: the runs table validates filters as the user types,
// and server/tracking/search-sql.ts compiles the same tree to SQL with bound parameters.
//
//   filter     := or
//   or         := and (OR and)*
//   and        := primary (AND primary)*            AND binds tighter than OR
//   primary    := "(" or ")" | comparison
//   comparison := identifier operator value
//   identifier := prefix "." key | attribute-key | `quoted attribute-key`
//   key        := plain-key | `backticked` | "double-quoted"

export type EntityKind = "metric" | "param" | "tag" | "attribute" | "dataset";
export type Entity = { kind: EntityKind; key: string };
export type CompareOp = "=" | "!=" | ">" | ">=" | "<" | "<=" | "LIKE" | "ILIKE" | "IN" | "NOT IN" | "IS NULL" | "IS NOT NULL";
export type Comparison = {
  type: "cmp";
  entity: Entity;
  op: CompareOp;
  value: string | number | (string | number)[] | null;
  /** 0-based offset of the identifier in the filter string. */
  position: number;
};
export type FilterNode = Comparison | { type: "and" | "or"; children: FilterNode[] };
export type OrderBy = { entity: Entity; ascending: boolean };

export class FilterSyntaxError extends Error {
  /** 0-based character offset of the offending token (the input length for "end of filter"). */
  readonly position: number;

  constructor(message: string, position: number) {
    super(message);
    this.name = "FilterSyntaxError";
    this.position = position;
  }
}

const MAX_LENGTH = 10_000;
const MAX_DEPTH = 50;
/**
 * Comparisons per filter. Each one is checked against every candidate run, so a search's cost grows with
 * them; MLflow users rarely write more than a handful (the review's 459-condition filter stalled the server).
 */
export const MAX_CONDITIONS = 50;
/** A LIKE pattern's longest form and most wildcards: each '%' multiplies what the matcher may try. */
export const MAX_LIKE_LENGTH = 256;
export const MAX_LIKE_WILDCARDS = 8;

/** Why a LIKE/ILIKE pattern is long or wild enough to make one comparison expensive on its own, or null. */
export function likePatternProblem(pattern: string): string | null {
  const wildcards = (pattern.match(/%/g) ?? []).length;
  if (pattern.length <= MAX_LIKE_LENGTH && wildcards <= MAX_LIKE_WILDCARDS) return null;
  return `a LIKE pattern may be at most ${MAX_LIKE_LENGTH} characters with at most ${MAX_LIKE_WILDCARDS} '%' wildcards; this one has ${pattern.length} characters and ${wildcards}`;
}

// Maps keep lookups safe from prototype keys such as "constructor".
const PREFIXES = new Map<string, EntityKind>([
  ["metrics", "metric"], ["metric", "metric"],
  ["params", "param"], ["param", "param"], ["parameters", "param"],
  ["tags", "tag"], ["tag", "tag"],
  ["attributes", "attribute"], ["attribute", "attribute"], ["attr", "attribute"], ["run", "attribute"],
  ["datasets", "dataset"], ["dataset", "dataset"],
]);
const CANONICAL_PREFIX: Record<EntityKind, string> = {
  metric: "metrics", param: "params", tag: "tags", attribute: "attributes", dataset: "datasets",
};

export const ATTRIBUTE_KEYS: readonly string[] = [
  "run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time", "created",
];
const ATTRIBUTE_ALIASES = new Map<string, string>(ATTRIBUTE_KEYS.map((k) => [k, k === "created" ? "start_time" : k]));
const NUMERIC_ATTRIBUTES = new Set(["start_time", "end_time"]);
const DATASET_KEYS: readonly string[] = ["name", "digest", "context"];

const NUMBER_OPS: readonly CompareOp[] = ["=", "!=", ">", ">=", "<", "<="];
const STRING_OPS: readonly CompareOp[] = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];
const NULL_OPS: readonly CompareOp[] = ["IS NULL", "IS NOT NULL"];
/**
 * Range operators a param may use with an unquoted number: `params.lr >= 0.001` holds for runs whose lr is a
 * number at least 0.001 (MLflow refuses it; params are strings there). `params.lr = 0.01` stays an error, since
 * equality on a param compares its text.
 */
export const PARAM_RANGE_OPS: readonly CompareOp[] = [">", ">=", "<", "<="];
const RESERVED = new Set(["AND", "OR", "NOT", "IN", "IS", "NULL", "LIKE", "ILIKE"]);

type Rule = { valueType: "string" | "number"; ops: readonly CompareOp[]; why: string };

function ruleFor(entity: Entity): Rule {
  switch (entity.kind) {
    case "metric": return { valueType: "number", ops: [...NUMBER_OPS, ...NULL_OPS], why: "metric values are numbers" };
    case "param": return { valueType: "string", ops: [...STRING_OPS, ...NULL_OPS], why: "parameter values are strings" };
    // Cairn's extension (like OR and parentheses): a param compared with an unquoted number by a range operator
    // is a numeric range over the runs whose value of the param is a number (see PARAM_RANGE_OPS).
    case "tag": return { valueType: "string", ops: [...STRING_OPS, ...NULL_OPS], why: "tag values are strings" };
    case "dataset": return { valueType: "string", ops: STRING_OPS, why: `dataset ${entity.key} is a string` };
    case "attribute":
      return NUMERIC_ATTRIBUTES.has(entity.key)
        ? { valueType: "number", ops: NUMBER_OPS, why: `${entity.key} is a number (epoch milliseconds)` }
        : { valueType: "string", ops: STRING_OPS, why: `${entity.key} is a string` };
  }
}

// ---------------------------------------------------------------------------------------------------
// Tokenizer

type Token =
  | { t: "word"; text: string; pos: number }
  | { t: "ident"; prefix: string | null; key: string; text: string; pos: number }
  | { t: "string"; value: string; text: string; pos: number }
  | { t: "number"; value: number; text: string; pos: number }
  | { t: "sym"; text: string; pos: number }
  | { t: "junk"; text: string; pos: number }
  | { t: "end"; text: ""; pos: number };

const WORD = /[A-Za-z_][A-Za-z0-9_.\-/]*/y;
const NUMBER = /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const SYMBOL = /!=|<>|>=|<=|[=<>(),]/y;
const JUNK = /[^\sA-Za-z0-9_'"`(),=<>]+/y;

function fail(position: number, what: string, fix: string): FilterSyntaxError {
  return new FilterSyntaxError(`${what} at position ${position}: ${fix}`, position);
}

function match(re: RegExp, input: string, at: number): string | null {
  re.lastIndex = at;
  return re.exec(input)?.[0] ?? null;
}

/** Reads a quoted run starting at `start`; the quote is escaped by doubling it or with a backslash. */
function readQuoted(input: string, start: number): { value: string; end: number } {
  const quote = input[start]!;
  let value = "";
  let i = start + 1;
  while (i < input.length) {
    const c = input[i]!;
    const next = input[i + 1];
    if (c === "\\" && (next === quote || next === "\\")) {
      value += next;
      i += 2;
    } else if (c === quote && next === quote) {
      value += quote;
      i += 2;
    } else if (c === quote) {
      return { value, end: i + 1 };
    } else {
      // Other backslashes stay, so LIKE patterns keep their escapes (e.g. '100\%').
      value += c;
      i += 1;
    }
  }
  const what = quote === "`" ? "Unterminated quoted key" : "Unterminated string";
  throw fail(start, `${what} starting`, `close it with a matching ${quote} (write ${quote}${quote} or \\${quote} for a ${quote} inside it)`);
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i += 1;
      continue;
    }
    const word = match(WORD, input, i);
    if (word !== null) {
      const quote = input[i + word.length];
      if (word.endsWith(".") && (quote === "`" || quote === '"')) {
        const { value, end } = readQuoted(input, i + word.length);
        tokens.push({ t: "ident", prefix: word.slice(0, -1), key: value, text: input.slice(i, end), pos: i });
        i = end;
      } else {
        tokens.push({ t: "word", text: word, pos: i });
        i += word.length;
      }
      continue;
    }
    if (c === "`" || c === "'" || c === '"') {
      const { value, end } = readQuoted(input, i);
      const text = input.slice(i, end);
      tokens.push(c === "`" ? { t: "ident", prefix: null, key: value, text, pos: i } : { t: "string", value, text, pos: i });
      i = end;
      continue;
    }
    const num = match(NUMBER, input, i);
    if (num !== null) {
      const value = Number(num);
      if (!Number.isFinite(value)) throw fail(i, `Number ${num} is out of range`, "use a value between -1.7e308 and 1.7e308");
      tokens.push({ t: "number", value, text: num, pos: i });
      i += num.length;
      continue;
    }
    const sym = match(SYMBOL, input, i);
    // Anything else ("--", ";", a lone "!") becomes one token so errors can quote it whole.
    const text = sym ?? match(JUNK, input, i) ?? c;
    tokens.push({ t: sym === null ? "junk" : "sym", text, pos: i });
    i += text.length;
  }
  tokens.push({ t: "end", text: "", pos: input.length });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------
// Parser

function describe(tok: Token): string {
  if (tok.t === "end") return "end of filter";
  return `"${tok.text.length > 30 ? `${tok.text.slice(0, 30)}…` : tok.text}"`;
}

function unexpected(tok: Token, expected: string): FilterSyntaxError {
  return fail(tok.pos, `Unexpected ${describe(tok)}`, expected);
}

function isWord(tok: Token, keyword: string): boolean {
  return tok.t === "word" && tok.text.toUpperCase() === keyword;
}

function isSym(tok: Token, sym: string): boolean {
  return tok.t === "sym" && tok.text === sym;
}

function formatKey(key: string): string {
  return /^[A-Za-z0-9_.\-/]+$/.test(key) ? key : `\`${key.replace(/`/g, "``")}\``;
}

function label(entity: Entity): string {
  return `${CANONICAL_PREFIX[entity.kind]}.${formatKey(entity.key)}`;
}

type Located<T> = { value: T; pos: number; text: string };

class Parser {
  private index = 0;
  private depth = 0;
  private conditions = 0;

  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.index] ?? this.tokens[this.tokens.length - 1]!;
  }

  next(): Token {
    const tok = this.peek();
    if (tok.t !== "end") this.index += 1;
    return tok;
  }

  parseOr(): FilterNode {
    const children = [this.parseAnd()];
    while (isWord(this.peek(), "OR")) {
      this.next();
      children.push(this.parseAnd());
    }
    return combine("or", children);
  }

  parseAnd(): FilterNode {
    const children = [this.parsePrimary()];
    while (isWord(this.peek(), "AND")) {
      this.next();
      children.push(this.parsePrimary());
    }
    return combine("and", children);
  }

  parsePrimary(): FilterNode {
    const open = this.peek();
    if (!isSym(open, "(")) return this.parseComparison();
    if (this.depth >= MAX_DEPTH) throw fail(open.pos, `Parentheses nested deeper than ${MAX_DEPTH}`, "simplify the filter");
    this.next();
    this.depth += 1;
    const node = this.parseOr();
    const close = this.peek();
    if (!isSym(close, ")")) throw unexpected(close, `expected AND, OR or ")" to close the "(" at position ${open.pos}`);
    this.next();
    this.depth -= 1;
    return node;
  }

  parseComparison(): Comparison {
    if (this.conditions === MAX_CONDITIONS) {
      throw fail(this.peek().pos, `More than ${MAX_CONDITIONS} conditions`, `a filter may hold at most ${MAX_CONDITIONS} comparisons; remove some, or split the search into several`);
    }
    this.conditions += 1;
    const { value: entity, pos } = this.parseIdentifier(`expected a comparison such as metrics.accuracy > 0.9 or params.lr = '0.01', or "("`);
    const opTok = this.peek();
    const op = this.parseOperator();
    let values: Located<string | number>[] = [];
    let value: Comparison["value"] = null;
    if (op === "IN" || op === "NOT IN") {
      values = this.parseList(op);
      value = values.map((v) => v.value);
    } else if (op !== "IS NULL" && op !== "IS NOT NULL") {
      const single = this.parseScalar();
      values = [single];
      value = single.value;
      const problem = (op === "LIKE" || op === "ILIKE") && typeof value === "string" ? likePatternProblem(value) : null;
      if (problem) throw fail(single.pos, "A costly LIKE pattern", problem);
    }
    const resolved = resolveEntity(entity, pos);
    checkTypes(resolved, op, opTok.pos, values);
    return { type: "cmp", entity: resolved, op, value, position: pos };
  }

  /** An identifier as written: the kind comes from its prefix, the key is checked by resolveEntity. */
  parseIdentifier(expected: string): Located<Entity> {
    const tok = this.next();
    if (tok.t === "ident") {
      if (tok.prefix === null) return { value: { kind: "attribute", key: tok.key }, pos: tok.pos, text: tok.text };
      return { value: { kind: prefixKind(tok.prefix, tok.text, tok.pos), key: tok.key }, pos: tok.pos, text: tok.text };
    }
    if (tok.t !== "word" || RESERVED.has(tok.text.toUpperCase())) throw unexpected(tok, expected);
    const dot = tok.text.indexOf(".");
    if (dot < 0) return { value: { kind: "attribute", key: tok.text }, pos: tok.pos, text: tok.text };
    const kind = prefixKind(tok.text.slice(0, dot), tok.text, tok.pos);
    return { value: { kind, key: tok.text.slice(dot + 1) }, pos: tok.pos, text: tok.text };
  }

  parseOperator(): CompareOp {
    const tok = this.next();
    if (tok.t === "sym" && ["=", "!=", "<>", ">", ">=", "<", "<="].includes(tok.text)) {
      return tok.text === "<>" ? "!=" : (tok.text as CompareOp);
    }
    if (isWord(tok, "LIKE")) return "LIKE";
    if (isWord(tok, "ILIKE")) return "ILIKE";
    if (isWord(tok, "IN")) return "IN";
    if (isWord(tok, "NOT")) {
      const next = this.next();
      if (!isWord(next, "IN")) throw unexpected(next, "expected IN after NOT (NOT IN ('a', 'b'))");
      return "NOT IN";
    }
    if (isWord(tok, "IS")) {
      const negated = isWord(this.peek(), "NOT");
      if (negated) this.next();
      const next = this.next();
      if (!isWord(next, "NULL")) throw unexpected(next, `expected NULL after IS${negated ? " NOT" : ""}`);
      return negated ? "IS NOT NULL" : "IS NULL";
    }
    const hint = tok.t === "word" ? "; quote keys that contain spaces, e.g. metrics.`f1 score`" : "";
    throw unexpected(tok, `expected a comparison operator: =, !=, >, >=, <, <=, LIKE, ILIKE, IN, NOT IN, IS NULL or IS NOT NULL${hint}`);
  }

  parseScalar(): Located<string | number> {
    const tok = this.next();
    if (tok.t === "string" || tok.t === "number") return { value: tok.value, pos: tok.pos, text: tok.text };
    const hint = tok.t === "word" ? ` (quote strings: '${tok.text}')` : "";
    throw unexpected(tok, `expected a value: a quoted string such as 'abc' or a number such as 0.5${hint}`);
  }

  parseList(op: CompareOp): Located<string | number>[] {
    const open = this.next();
    if (!isSym(open, "(")) throw unexpected(open, `expected "(" after ${op}, e.g. ${op} ('a', 'b')`);
    if (isSym(this.peek(), ")")) throw fail(this.peek().pos, `Empty ${op} list`, `list at least one value, e.g. ${op} ('a', 'b')`);
    const values = [this.parseScalar()];
    for (;;) {
      const tok = this.next();
      if (isSym(tok, ")")) return values;
      if (!isSym(tok, ",")) throw unexpected(tok, `expected "," or ")" in the ${op} list opened at position ${open.pos}`);
      values.push(this.parseScalar());
    }
  }
}

function combine(type: "and" | "or", children: FilterNode[]): FilterNode {
  if (children.length === 1) return children[0]!;
  // (a OR b) OR c means the same as a OR b OR c, so same-type groups are flattened.
  return { type, children: children.flatMap((c) => (c.type === type ? c.children : [c])) };
}

function prefixKind(prefix: string, text: string, pos: number): EntityKind {
  const kind = PREFIXES.get(prefix.toLowerCase());
  if (!kind) {
    throw fail(pos, `Unknown identifier "${text}"`, "start it with metrics., params., tags., attributes. or datasets. (e.g. params.lr), or use an attribute such as status");
  }
  return kind;
}

function resolveEntity(entity: Entity, pos: number): Entity {
  if (entity.key === "") throw fail(pos, `Missing key after "${CANONICAL_PREFIX[entity.kind]}."`, `write ${CANONICAL_PREFIX[entity.kind]}.<key>, quoting keys with spaces in backticks`);
  if (entity.kind === "attribute") {
    const key = ATTRIBUTE_ALIASES.get(entity.key.toLowerCase());
    if (!key) throw fail(pos, `Unknown attribute "${entity.key}"`, `valid attributes are ${ATTRIBUTE_KEYS.join(", ")}; use params., metrics. or tags. for other keys`);
    return { kind: "attribute", key };
  }
  if (entity.kind === "dataset") {
    const key = entity.key.toLowerCase();
    if (!DATASET_KEYS.includes(key)) throw fail(pos, `Unknown dataset field "${entity.key}"`, `valid dataset fields are ${DATASET_KEYS.join(", ")}`);
    return { kind: "dataset", key };
  }
  return entity;
}

function checkTypes(entity: Entity, op: CompareOp, opPos: number, values: Located<string | number>[]): void {
  const rule = ruleFor(entity);
  if (entity.kind === "param" && PARAM_RANGE_OPS.includes(op)) {
    const quoted = values.find((v) => typeof v.value === "string");
    if (!quoted) return;
    const trimmed = String(quoted.value).trim();
    const fix = trimmed !== "" && Number.isFinite(Number(trimmed)) ? `for a numeric range write ${label(entity)} ${op} ${trimmed} without quotes` : `compare it with a number, e.g. ${label(entity)} ${op} 0.5`;
    throw fail(quoted.pos, `Operator ${op} cannot be used with ${label(entity)} and the string ${quoted.text}`, `${rule.why}, so a range compares numbers; ${fix}`);
  }
  if (!rule.ops.includes(op)) {
    const range = entity.kind === "param" ? `, or ${PARAM_RANGE_OPS.join(", ")} with an unquoted number for a numeric range` : "";
    throw fail(opPos, `Operator ${op} cannot be used with ${label(entity)}`, `${rule.why}; use one of ${rule.ops.join(", ")}${range}`);
  }
  for (const v of values) {
    if (rule.valueType === "string" && typeof v.value === "number") {
      throw fail(v.pos, `${label(entity)} is compared with the number ${v.text}`, `${rule.why}, so quote the value: '${v.text}'`);
    }
    if (rule.valueType === "number" && typeof v.value === "string") {
      const trimmed = v.value.trim();
      const fix = trimmed !== "" && Number.isFinite(Number(trimmed)) ? `write ${trimmed} without quotes` : `compare with a number, e.g. ${label(entity)} > 0.5`;
      throw fail(v.pos, `${label(entity)} is compared with the string ${v.text}`, `${rule.why}; ${fix}`);
    }
  }
}

function checkLength(input: string, what: string): void {
  if (input.length > MAX_LENGTH) throw fail(MAX_LENGTH, `${what} is too long (${input.length} characters)`, `the limit is ${MAX_LENGTH}; shorten it`);
}

/** Parses a search filter; null when the input is empty or whitespace. Throws FilterSyntaxError. */
export function parseFilter(input: string): FilterNode | null {
  checkLength(input, "The filter");
  const parser = new Parser(tokenize(input));
  if (parser.peek().t === "end") return null;
  const node = parser.parseOr();
  const tok = parser.peek();
  if (isSym(tok, ")")) throw unexpected(tok, `there is no "(" for it to close; remove it`);
  if (tok.t !== "end") throw unexpected(tok, "expected AND, OR or the end of the filter");
  return node;
}

/** Parses one order_by clause: `<identifier> [ASC|DESC]`, ascending by default. Throws FilterSyntaxError. */
export function parseOrderBy(clause: string): OrderBy {
  checkLength(clause, "The order_by clause");
  const parser = new Parser(tokenize(clause));
  const first = parser.peek();
  if (first.t === "end") throw fail(first.pos, "Empty order_by clause", "write an identifier such as metrics.accuracy DESC");
  const { value, pos } = parser.parseIdentifier("expected an identifier such as metrics.accuracy, params.lr or start_time");
  if (value.kind === "dataset") throw fail(pos, "Runs cannot be ordered by dataset fields", "order by a metric, param, tag or attribute");
  const entity = resolveEntity(value, pos);
  let ascending = true;
  const dir = parser.peek();
  if (isWord(dir, "ASC") || isWord(dir, "DESC")) {
    ascending = isWord(dir, "ASC");
    parser.next();
  }
  const rest = parser.peek();
  if (rest.t !== "end") throw unexpected(rest, "expected ASC, DESC or the end of the order_by clause");
  return { entity, ascending };
}
