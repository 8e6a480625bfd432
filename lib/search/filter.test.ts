import { describe, expect, it } from "vitest";
import type { Comparison, FilterNode } from "./filter";
import { ATTRIBUTE_KEYS, FilterSyntaxError, MAX_CONDITIONS, parseFilter, parseOrderBy } from "./filter";

function cmp(input: string): Comparison {
  const node = parseFilter(input);
  if (node?.type !== "cmp") throw new Error(`expected a single comparison for ${input}`);
  return node;
}

/** The tree without positions, written compactly: "metric:acc > 0.5". */
function shape(node: FilterNode | null): unknown {
  if (node === null) return null;
  if (node.type === "cmp") return `${node.entity.kind}:${node.entity.key} ${node.op} ${JSON.stringify(node.value)}`;
  return { [node.type]: node.children.map(shape) };
}

function syntaxError(run: () => unknown): FilterSyntaxError {
  try {
    run();
  } catch (err) {
    if (err instanceof FilterSyntaxError) return err;
    throw err;
  }
  throw new Error("expected a FilterSyntaxError");
}

function expectError(input: string, position: number, message: RegExp): void {
  const err = syntaxError(() => parseFilter(input));
  expect(err.position).toBe(position);
  expect(err.message).toMatch(message);
  expect(err.message).toContain(`at position ${position}`);
}

describe("parseFilter: structure", () => {
  it("returns null for empty or whitespace input", () => {
    expect(parseFilter("")).toBeNull();
    expect(parseFilter("  \n\t ")).toBeNull();
  });

  it("binds AND tighter than OR", () => {
    expect(shape(parseFilter("metrics.a > 1 AND params.b = 'x' OR tags.c = 'y'"))).toEqual({
      or: [{ and: ["metric:a > 1", 'param:b = "x"'] }, 'tag:c = "y"'],
    });
    expect(shape(parseFilter("metrics.a > 1 OR params.b = 'x' AND tags.c = 'y'"))).toEqual({
      or: ["metric:a > 1", { and: ['param:b = "x"', 'tag:c = "y"'] }],
    });
  });

  it("groups with parentheses and flattens same-type groups", () => {
    expect(shape(parseFilter("metrics.a > 1 AND (params.b = 'x' OR tags.c = 'y')"))).toEqual({
      and: ["metric:a > 1", { or: ['param:b = "x"', 'tag:c = "y"'] }],
    });
    expect(shape(parseFilter("((metrics.a > 1))"))).toBe("metric:a > 1");
    expect(shape(parseFilter("(metrics.a > 1 or metrics.b > 2) OR (metrics.c > 3 and metrics.d > 4)"))).toEqual({
      or: ["metric:a > 1", "metric:b > 2", { and: ["metric:c > 3", "metric:d > 4"] }],
    });
  });

  it("accepts case-insensitive keywords", () => {
    expect(shape(parseFilter("metrics.a > 1 and params.b like 'x%' Or tags.c Not In ('y') aNd tags.d is not null"))).toEqual({
      or: [{ and: ["metric:a > 1", 'param:b LIKE "x%"'] }, { and: ['tag:c NOT IN ["y"]', "tag:d IS NOT NULL null"] }],
    });
  });

  it("records the position of each comparison", () => {
    const node = parseFilter("metrics.a > 1 AND  params.b = 'x'");
    expect(node?.type === "and" && node.children.map((c) => c.type === "cmp" && c.position)).toEqual([0, 19]);
  });
});

describe("parseFilter: operators and values", () => {
  it.each([
    ["metrics.acc = 0.5", "=", 0.5],
    ["metrics.acc != 0.5", "!=", 0.5],
    ["metrics.acc <> 0.5", "!=", 0.5],
    ["metrics.acc > 0.5", ">", 0.5],
    ["metrics.acc >= 0.5", ">=", 0.5],
    ["metrics.acc < 0.5", "<", 0.5],
    ["metrics.acc <= 0.5", "<=", 0.5],
    ["metrics.acc IS NULL", "IS NULL", null],
    ["metrics.acc IS NOT NULL", "IS NOT NULL", null],
    ["params.opt LIKE 'adam%'", "LIKE", "adam%"],
    ["params.opt ILIKE 'ADAM%'", "ILIKE", "ADAM%"],
    ["params.opt IN ('adam', 'sgd')", "IN", ["adam", "sgd"]],
    ["params.opt NOT IN ('adam')", "NOT IN", ["adam"]],
    ["tags.model = 'resnet'", "=", "resnet"],
    ["tags.model != 'resnet'", "!=", "resnet"],
    ["tags.model IS NULL", "IS NULL", null],
    ["status IN ('FINISHED','FAILED')", "IN", ["FINISHED", "FAILED"]],
    ["run_id NOT IN ('a')", "NOT IN", ["a"]],
    ["start_time >= 1700000000000", ">=", 1700000000000],
    ["datasets.context ILIKE 'train%'", "ILIKE", "train%"],
  ])("%s", (input, op, value) => {
    expect(cmp(input)).toMatchObject({ op, value });
  });

  it("parses metric comparisons written without spaces", () => {
    expect(cmp("metrics.loss>-1")).toMatchObject({ entity: { kind: "metric", key: "loss" }, op: ">", value: -1 });
    expect(cmp("metrics.loss<=.5")).toMatchObject({ op: "<=", value: 0.5 });
  });

  it.each([
    ["42", 42], ["-7", -7], ["0.25", 0.25], [".5", 0.5], ["-0.5e-3", -0.0005], ["1E3", 1000], ["2.5e+2", 250], ["10.", 10],
  ])("parses the number %s", (text, value) => {
    expect(cmp(`metrics.x = ${text}`).value).toBe(value);
  });
});

describe("parseFilter: identifiers and quoting", () => {
  it.each([
    ["metrics.a", "metric"], ["metric.a", "metric"], ["params.a", "param"], ["param.a", "param"], ["parameters.a", "param"],
    ["tags.a", "tag"], ["tag.a", "tag"], ["datasets.name", "dataset"], ["dataset.name", "dataset"], ["METRICS.a", "metric"],
  ])("reads the prefix of %s", (identifier, kind) => {
    const op = kind === "metric" ? "> 1" : "= 'x'";
    expect(cmp(`${identifier} ${op}`).entity.kind).toBe(kind);
  });

  it.each(["attributes.status", "attribute.status", "attr.status", "run.status", "status", "STATUS", "`status`"])(
    "reads %s as the status attribute",
    (identifier) => {
      expect(cmp(`${identifier} = 'FINISHED'`).entity).toEqual({ kind: "attribute", key: "status" });
    },
  );

  it("treats created as an alias of start_time and exports the attribute names", () => {
    expect(cmp("created > 5").entity).toEqual({ kind: "attribute", key: "start_time" });
    expect(ATTRIBUTE_KEYS).toEqual(["run_id", "run_name", "status", "user_id", "artifact_uri", "start_time", "end_time", "created"]);
    for (const key of ["run_id", "run_name", "user_id", "artifact_uri"]) expect(cmp(`${key} = 'x'`).entity.key).toBe(key);
    expect(cmp("attributes.end_time < 5").entity.key).toBe("end_time");
  });

  it("keeps dots, dashes and slashes in plain keys", () => {
    expect(cmp("tags.mlflow.runName = 'x'").entity).toEqual({ kind: "tag", key: "mlflow.runName" });
    expect(cmp("metrics.val/loss-2 > 1").entity.key).toBe("val/loss-2");
    expect(cmp("metrics.1st > 1").entity.key).toBe("1st");
  });

  it("reads backticked and double-quoted keys", () => {
    expect(cmp("metrics.`f1 score` > 0.5").entity).toEqual({ kind: "metric", key: "f1 score" });
    expect(cmp('params."my lr" = \'0.1\'').entity).toEqual({ kind: "param", key: "my lr" });
    expect(cmp("tags.`it``s` = 'x'").entity.key).toBe("it`s");
    expect(cmp("tags.`a = 'b'` = 'x'").entity.key).toBe("a = 'b'");
  });

  it("reads string literals with either quote and both escapes", () => {
    expect(cmp("params.q = 'it''s'").value).toBe("it's");
    expect(cmp("params.q = 'it\\'s'").value).toBe("it's");
    expect(cmp(`params.q = "say ""hi"""`).value).toBe('say "hi"');
    expect(cmp(`params.q = "it's"`).value).toBe("it's");
    expect(cmp("params.q = 'back\\\\slash'").value).toBe("back\\slash");
    // Other backslashes are kept so LIKE patterns can escape % and _.
    expect(cmp("params.q LIKE '100\\%'").value).toBe("100\\%");
    expect(cmp("params.q = ''").value).toBe("");
    expect(cmp("params.q = 'a AND b OR (c)'").value).toBe("a AND b OR (c)");
  });

  it("accepts nesting up to 50 levels", () => {
    expect(shape(parseFilter(`${"(".repeat(50)}metrics.a > 1${")".repeat(50)}`))).toBe("metric:a > 1");
  });
});

describe("parseFilter: errors", () => {
  it("rejects an injection-style tail with the offending token's position", () => {
    expectError("metrics.acc > 0 OR 1=1 --", 19, /^Unexpected "1" at position 19: expected a comparison/);
    expect(syntaxError(() => parseFilter("metrics.acc > 0 --")).message).toBe(
      'Unexpected "--" at position 16: expected AND, OR or the end of the filter',
    );
    expectError("metrics.acc > 0; drop table runs", 15, /Unexpected ";"/);
    expectError("1=1", 0, /Unexpected "1"/);
  });

  it("reads a param compared with an unquoted number by a range operator as a numeric range (Cairn's extension)", () => {
    for (const op of [">", ">=", "<", "<="] as const) {
      const c = cmp(`params.lr ${op} 0.001`);
      expect(c).toMatchObject({ entity: { kind: "param", key: "lr" }, op, value: 0.001 });
    }
    expect(cmp("params.`odd key` >= -1e-3").value).toBe(-0.001);
  });

  it("rejects a parameter compared with a number, suggesting quotes", () => {
    expectError("params.lr = 0.01", 12, /params\.lr is compared with the number 0\.01.*strings.*quote the value: '0\.01'/);
    expectError("tags.x IN ('a', 1)", 16, /number 1/);
    expectError("status = 1", 9, /status is a string/);
  });

  it("rejects a metric compared with a string", () => {
    expectError("metrics.acc = 'x'", 14, /metrics\.acc is compared with the string 'x'.*numbers.*e\.g\. metrics\.acc > 0\.5/);
    expectError("start_time > '5'", 13, /write 5 without quotes/);
  });

  it("rejects operators the entity does not support", () => {
    expectError("metrics.acc LIKE '%'", 12, /Operator LIKE cannot be used with metrics\.acc.*use one of =, !=, >, >=, <, <=, IS NULL, IS NOT NULL/);
    expectError("params.lr > '1'", 12, /Operator > cannot be used with params\.lr and the string '1'.*write params\.lr > 1 without quotes/);
    expectError("params.opt >= 'adam'", 14, /e\.g\. params\.opt >= 0\.5/);
    expectError("params.lr LIKE 1", 15, /number 1/);
    expectError("start_time IN (1)", 11, /Operator IN cannot be used/);
    expectError("datasets.name IS NULL", 14, /Operator IS NULL cannot be used/);
    expectError("metrics.acc NOT LIKE 'x'", 16, /expected IN after NOT/);
    expectError("metrics.acc IS 5", 15, /expected NULL after IS/);
  });

  it("rejects unterminated quotes", () => {
    expectError("params.x = 'abc", 11, /^Unterminated string starting at position 11: close it with a matching '/);
    expectError('params.x = "abc\\"', 11, /Unterminated string/);
    expectError("metrics.`f1 > 1", 8, /Unterminated quoted key/);
  });

  it("rejects unbalanced parentheses", () => {
    expectError("((a", 3, /Unexpected end of filter at position 3: expected a comparison operator/);
    expectError("(metrics.a > 1", 14, /expected AND, OR or "\)" to close the "\(" at position 0/);
    expectError("metrics.a > 1)", 13, /Unexpected "\)".*no "\(" for it to close/);
    expectError("()", 1, /Unexpected "\)"/);
  });

  it("rejects dangling or missing parts", () => {
    expectError("metrics.a > 1 OR", 16, /Unexpected end of filter/);
    expectError("OR metrics.a > 1", 0, /Unexpected "OR"/);
    expectError("metrics.a > 1 AND AND metrics.b > 1", 18, /Unexpected "AND"/);
    expectError("metrics.a >", 11, /expected a value/);
    expectError("params.lr = abc", 12, /quote strings: 'abc'/);
    expectError("metrics.f1 score > 1", 11, /quote keys that contain spaces/);
    expectError("metrics.a > 1 params.b = 'x'", 14, /expected AND, OR or the end of the filter/);
  });

  it("rejects unknown attributes, prefixes and dataset fields", () => {
    expectError("attributes.nope = 'x'", 0, /^Unknown attribute "nope" at position 0: valid attributes are run_id, run_name, status, user_id, artifact_uri, start_time, end_time, created/);
    expectError("metrics.a > 1 AND nope = 'x'", 18, /Unknown attribute "nope"/);
    expectError("foo.bar = 'x'", 0, /Unknown identifier "foo\.bar".*metrics\., params\., tags\./);
    expectError("datasets.size = 'x'", 0, /valid dataset fields are name, digest, context/);
    expectError("params. = 'x'", 0, /Missing key after "params\."/);
  });

  it("rejects malformed IN lists", () => {
    expectError("params.x IN ()", 13, /^Empty IN list at position 13: list at least one value/);
    expectError("params.x NOT IN ()", 17, /Empty NOT IN list/);
    expectError("params.x IN 'a'", 12, /expected "\(" after IN/);
    expectError("params.x IN ('a',)", 17, /expected a value/);
    expectError("params.x IN ('a' 'b')", 17, /expected "," or "\)"/);
  });

  it("limits length, nesting and number range", () => {
    expectError(`status = '${"x".repeat(10_000)}'`, 10_000, /too long/);
    expectError(`${"(".repeat(51)}metrics.a > 1${")".repeat(51)}`, 50, /nested deeper than 50/);
    expectError("metrics.a > 1e999", 12, /out of range/);
  });

  it(`limits a filter to ${MAX_CONDITIONS} comparisons, naming the limit`, () => {
    const conditions = (n: number) => Array.from({ length: n }, (_, i) => `params.p${i} = 'v'`);
    expect(shape(parseFilter(conditions(MAX_CONDITIONS).join(" and ")))).toMatchObject({ and: expect.any(Array) });
    const over = conditions(MAX_CONDITIONS + 1).join(" and ");
    expectError(over, over.lastIndexOf("params."), /^More than 50 conditions at position \d+: a filter may hold at most 50 comparisons/);
    // OR, parentheses and IN lists: every comparison counts, an IN list is one.
    const mixed = `(${conditions(30).join(" or ")}) and (${conditions(21).join(" and ")}) and params.x IN ('a', 'b')`;
    expectError(mixed, mixed.lastIndexOf("params.p20"), /More than 50 conditions/);
    expect(parseFilter(`params.x IN (${Array.from({ length: 500 }, (_, i) => `'${i}'`).join(", ")})`)).toMatchObject({ type: "cmp" });
  });

  it("refuses LIKE patterns long or wild enough to make one comparison costly", () => {
    expect(parseFilter(`params.p LIKE '%${"a".repeat(200)}%'`)).toMatchObject({ type: "cmp" });
    const long = `params.p LIKE '%${"a".repeat(300)}b%'`;
    expectError(long, long.indexOf("'"), /A costly LIKE pattern at position \d+: a LIKE pattern may be at most 256 characters/);
    const wild = `tags.t ILIKE '${"%a".repeat(9)}'`;
    expectError(wild, wild.indexOf("'"), /at most 8 '%' wildcards; this one has \d+ characters and 9/);
  });

  it("throws FilterSyntaxError instances", () => {
    const err = syntaxError(() => parseFilter("metrics.a >"));
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("FilterSyntaxError");
  });
});

describe("parseOrderBy", () => {
  it.each([
    ["metrics.acc DESC", { entity: { kind: "metric", key: "acc" }, ascending: false }],
    ["metrics.acc desc", { entity: { kind: "metric", key: "acc" }, ascending: false }],
    ["attributes.start_time", { entity: { kind: "attribute", key: "start_time" }, ascending: true }],
    ["params.`my lr` ASC", { entity: { kind: "param", key: "my lr" }, ascending: true }],
    ['tags."mlflow.runName" asc', { entity: { kind: "tag", key: "mlflow.runName" }, ascending: true }],
    ["created DESC", { entity: { kind: "attribute", key: "start_time" }, ascending: false }],
    ["  run_name  ", { entity: { kind: "attribute", key: "run_name" }, ascending: true }],
  ])("parses %s", (clause, expected) => {
    expect(parseOrderBy(clause)).toEqual(expected);
  });

  it.each([
    ["", 0, /Empty order_by clause/],
    ["   ", 3, /Empty order_by clause/],
    ["datasets.name", 0, /cannot be ordered by dataset/],
    ["attributes.nope DESC", 0, /Unknown attribute "nope".*valid attributes are run_id/],
    ["foo.bar", 0, /Unknown identifier/],
    ["metrics.acc DESC extra", 17, /Unexpected "extra".*expected ASC, DESC or the end/],
    ["metrics.acc sideways", 12, /Unexpected "sideways"/],
    ["'metrics.acc'", 0, /expected an identifier/],
    ["DESC", 0, /Unknown attribute "DESC"/],
    ["metrics.`acc", 8, /Unterminated quoted key/],
  ])("rejects %j at position %i", (clause, position, message) => {
    const err = syntaxError(() => parseOrderBy(clause));
    expect(err.position).toBe(position);
    expect(err.message).toMatch(message);
  });
});
