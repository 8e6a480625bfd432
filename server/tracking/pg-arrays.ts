// PostgreSQL array literals built in Node, bound as one text parameter each (metric writes, rollup folds): the
// values travel once, and the database parses them into arrays without a parameter per element.

/**
 * A literal of numbers (NaN and ±Infinity spelled as float8 reads them, -0 kept), or of int64 values already
 * spelled exactly as text (steps and timestamps read back from the database).
 */
export function numberArray(xs: (number | string)[]): string {
  let out = "{";
  for (let i = 0; i < xs.length; i++) out += `${i ? "," : ""}${Object.is(xs[i], -0) ? "-0" : xs[i]}`;
  return `${out}}`;
}

/** A literal of strings, each quoted (keys may hold commas, braces, quotes, spaces). */
export function textArray(xs: string[]): string {
  let out = "{";
  for (let i = 0; i < xs.length; i++) out += `${i ? "," : ""}"${xs[i]!.replace(/[\\"]/g, "\\$&")}"`;
  return `${out}}`;
}
