// MLflow's registry search grammar: comparisons joined by AND, e.g.
//   name LIKE 'churn%' AND tags.owner = 'ml'            (registered models)
//   name = 'churn' AND run_id IN ('…', '…') AND version_number > 2   (model versions)
// compiled to SQL with bound parameters only. Errors name the offending position.
import { likePatternProblem, MAX_CONDITIONS } from "@/lib/search/filter";
import { sql } from "drizzle-orm";
import type { SQL } from "drizzle-orm";
import { AppError } from "../errors";

export type FieldSpec = { column: SQL; type: "string" | "number" };
export type TagSpec = (key: string, op: string, value: string | number | (string | number)[]) => SQL;

type Token = { kind: "ident" | "string" | "number" | "op" | "lparen" | "rparen" | "comma" | "and" | "end"; text: string; pos: number };

function syntax(pos: number, message: string): AppError {
  return new AppError("invalid_input", `Invalid filter at position ${pos}: ${message}`);
}

function tokenize(input: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) { i++; continue; }
    const rest = input.slice(i);
    if (c === "'" || c === '"' || c === "`") {
      let j = i + 1;
      let value = "";
      for (;;) {
        if (j >= input.length) throw syntax(i, `the quoted text starting here is never closed; add a closing ${c}`);
        if (input[j] === c && input[j + 1] === c) { value += c; j += 2; continue; }
        if (input[j] === "\\" && input[j + 1] === c) { value += c; j += 2; continue; }
        if (input[j] === c) break;
        value += input[j++];
      }
      // A backticked or double-quoted part directly after "tags." is part of the identifier.
      const prev = out.at(-1);
      if (prev?.kind === "ident" && prev.text.endsWith(".") && prev.pos + prev.text.length === i) prev.text += value;
      else out.push({ kind: c === "'" || c === '"' ? "string" : "ident", text: value, pos: i });
      i = j + 1;
      continue;
    }
    const op = /^(!=|<>|>=|<=|=|<|>)/.exec(rest) ?? /^(NOT\s+ILIKE|NOT\s+LIKE|NOT\s+IN|ILIKE|LIKE|IN)(?![A-Za-z0-9_])/i.exec(rest);
    if (op) { out.push({ kind: "op", text: op[1]!.toUpperCase().replace(/\s+/g, " "), pos: i }); i += op[0].length; continue; }
    const num = /^-?\d+(\.\d+)?/.exec(rest);
    if (num) { out.push({ kind: "number", text: num[0], pos: i }); i += num[0].length; continue; }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(rest);
    if (word) {
      out.push({ kind: word[0].toUpperCase() === "AND" ? "and" : "ident", text: word[0], pos: i });
      i += word[0].length;
      continue;
    }
    if (c === "(") out.push({ kind: "lparen", text: c, pos: i });
    else if (c === ")") out.push({ kind: "rparen", text: c, pos: i });
    else if (c === ",") out.push({ kind: "comma", text: c, pos: i });
    else throw syntax(i, `unexpected character '${c}'`);
    i++;
  }
  out.push({ kind: "end", text: "", pos: input.length });
  return out;
}

const STRING_OPS = new Set(["=", "!=", "<>", "LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE", "IN", "NOT IN"]);
const NUMBER_OPS = new Set(["=", "!=", "<>", ">", ">=", "<", "<=", "IN", "NOT IN"]);

/** Compiles a registry filter; undefined for an empty one. */
export function compileRegistryFilter(filter: string | undefined, fields: Record<string, FieldSpec>, tag: TagSpec): SQL | undefined {
  if (!filter?.trim()) return undefined;
  if (filter.length > 10_000) throw new AppError("invalid_input", "The filter is longer than 10000 characters; shorten it.");
  const tokens = tokenize(filter);
  let at = 0;
  const parts: SQL[] = [];
  const fieldNames = [...Object.keys(fields), "tags.<key>"].join(", ");
  for (;;) {
    if (parts.length === MAX_CONDITIONS) {
      throw new AppError("invalid_input", `More than ${MAX_CONDITIONS} conditions: a filter may hold at most ${MAX_CONDITIONS} comparisons; remove some, or split the search into several.`);
    }
    const ident = tokens[at++]!;
    if (ident.kind !== "ident") throw syntax(ident.pos, `expected a field (${fieldNames})${ident.kind === "end" ? " but the filter ended" : `, found '${ident.text}'`}`);
    const lower = ident.text.toLowerCase();
    const tagKey = /^tags?\./.test(lower) ? ident.text.slice(ident.text.indexOf(".") + 1) : null;
    const field = tagKey === null ? fields[lower.replace(/^attributes?\./, "")] : undefined;
    if (tagKey === "" || (tagKey === null && !field)) throw syntax(ident.pos, `unknown field '${ident.text}'; use one of ${fieldNames}`);
    const type = field?.type ?? "string";
    const op = tokens[at++]!;
    if (op.kind !== "op") throw syntax(op.pos, `expected a comparison (=, !=, LIKE, ILIKE, IN…) after '${ident.text}'`);
    if (!(type === "number" ? NUMBER_OPS : STRING_OPS).has(op.text)) throw syntax(op.pos, `'${op.text}' does not apply to ${ident.text} (a ${type})`);
    let value: string | number | (string | number)[];
    if (op.text.endsWith("IN") && op.text !== "ILIKE" && op.text !== "NOT ILIKE") {
      const open = tokens[at++]!;
      if (open.kind !== "lparen") throw syntax(open.pos, `IN takes a list in parentheses, e.g. ('a', 'b')`);
      const list: (string | number)[] = [];
      for (;;) {
        list.push(literal(tokens[at++]!, type));
        const sep = tokens[at++]!;
        if (sep.kind === "rparen") break;
        if (sep.kind !== "comma") throw syntax(sep.pos, "expected ',' or ')' in the IN list");
      }
      value = list;
    } else {
      value = literal(tokens[at++]!, type);
      const problem = op.text.includes("LIKE") && typeof value === "string" ? likePatternProblem(value) : null;
      if (problem) throw syntax(op.pos, problem);
    }
    parts.push(tagKey !== null ? tag(tagKey, op.text, value) : comparison(field!.column, op.text, value));
    const next = tokens[at++]!;
    if (next.kind === "end") break;
    if (next.kind !== "and") {
      throw syntax(next.pos, next.text.toUpperCase() === "OR" ? "model search supports AND only; run two searches instead of OR" : `expected AND or the end of the filter, found '${next.text}'`);
    }
  }
  return sql.join(parts, sql` and `);
}

function literal(tok: Token, type: "string" | "number"): string | number {
  if (type === "number") {
    if (tok.kind !== "number") throw syntax(tok.pos, `expected a number, found ${tok.kind === "end" ? "the end of the filter" : `'${tok.text}'`}`);
    return Number(tok.text);
  }
  if (tok.kind !== "string") throw syntax(tok.pos, `expected a quoted string such as 'value', found ${tok.kind === "end" ? "the end of the filter" : `'${tok.text}'`}`);
  return tok.text;
}

export function comparison(column: SQL, op: string, value: string | number | (string | number)[]): SQL {
  if (Array.isArray(value)) {
    const list = sql.join(value.map((v) => sql`${v}`), sql`, `);
    return op === "IN" ? sql`${column} in (${list})` : sql`${column} not in (${list})`;
  }
  switch (op) {
    case "=": return sql`${column} = ${value}`;
    case "!=": case "<>": return sql`${column} <> ${value}`;
    case ">": return sql`${column} > ${value}`;
    case ">=": return sql`${column} >= ${value}`;
    case "<": return sql`${column} < ${value}`;
    case "<=": return sql`${column} <= ${value}`;
    case "LIKE": return sql`${column} like ${value}`;
    case "ILIKE": return sql`${column} ilike ${value}`;
    case "NOT LIKE": return sql`${column} not like ${value}`;
    default: return sql`${column} not ilike ${value}`;
  }
}

/** MLflow order_by for the registry: `<field> [ASC|DESC]`. */
export function compileRegistryOrder(clauses: string[] | undefined, columns: Record<string, SQL>): SQL[] {
  return (clauses ?? []).map((clause) => {
    const m = /^\s*(?:attributes?\.)?([A-Za-z_]+)\s*(ASC|DESC)?\s*$/i.exec(clause);
    const column = m ? columns[m[1]!.toLowerCase()] : undefined;
    if (!m || !column) throw new AppError("invalid_input", `Invalid order_by clause '${clause}'. Order by ${Object.keys(columns).join(", ")}, optionally followed by ASC or DESC.`);
    return m[2]?.toUpperCase() === "DESC" ? sql`${column} desc` : sql`${column} asc`;
  });
}
