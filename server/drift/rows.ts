// Input rows and per-row predictions read from the bodies the gateway passes: MLflow's scoring formats
// (dataframe_split, dataframe_records, instances, inputs as rows or as columns) and Open Inference Protocol v2
// (`inputs: [{name, shape, datatype, data}]`, outputs likewise). A row is column → value; columns known only by
// position are named "#0", "#1", … until the reference names them (./sampler.ts).

export type Row = Record<string, unknown>;
export type Rows = { rows: Row[]; positional: boolean };

const positionalRow = (values: unknown[]): Row => Object.fromEntries(values.map((v, i) => [`#${i}`, v]));
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Nesting read at most: a row tensor's data nested deeper is unreadable (a body nested thousands deep must not overflow the stack). */
export const MAX_DEPTH = 4;

/** A body nested deeper than the sampler reads (the request is not sampled). */
export class UnreadableBody extends Error {
  constructor() {
    super(`nested deeper than ${MAX_DEPTH} levels`);
  }
}

/** The values of (nested) data, flattened up to MAX_DEPTH levels; deeper nesting throws UnreadableBody. */
function flatten(data: unknown): unknown[] {
  if (!Array.isArray(data)) return [data];
  const flat = data.flat(MAX_DEPTH);
  if (flat.some(Array.isArray)) throw new UnreadableBody();
  return flat;
}

function fromList(list: unknown[], max: number): Rows {
  const rows: Row[] = [];
  let positional = false;
  for (const item of list.slice(0, max)) {
    if (isObject(item)) rows.push(item);
    else {
      positional = true;
      rows.push(positionalRow(flatten(item)));
    }
  }
  return { rows, positional };
}

/** The first `max` input rows of a request body (parsed JSON); empty when the body is none of the formats or nested too deep. */
export function inputRows(body: unknown, max: number): Rows {
  try {
    return readRows(body, max);
  } catch (err) {
    if (err instanceof UnreadableBody) return { rows: [], positional: false };
    throw err;
  }
}

function readRows(body: unknown, max: number): Rows {
  const none: Rows = { rows: [], positional: false };
  // pandas' "records" orient (an input example's file may be one): a list of rows.
  if (Array.isArray(body)) return fromList(body, max);
  if (!isObject(body)) return none;
  // pandas' "split" orient, as MLflow writes a dataframe input example: {columns, data}.
  if (Array.isArray(body.data) && Array.isArray(body.columns) && !("inputs" in body)) return readRows({ dataframe_split: body }, max);
  if (isObject(body.dataframe_split) && Array.isArray(body.dataframe_split.data)) {
    const columns = Array.isArray(body.dataframe_split.columns) ? body.dataframe_split.columns.map(String) : null;
    const data = body.dataframe_split.data.slice(0, max).filter(Array.isArray) as unknown[][];
    if (!columns) return { rows: data.map(positionalRow), positional: true };
    return { rows: data.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))), positional: false };
  }
  if (Array.isArray(body.dataframe_records)) return fromList(body.dataframe_records, max);
  if (Array.isArray(body.instances)) return fromList(body.instances, max);
  if (Array.isArray(body.inputs)) {
    const specs = body.inputs;
    // Open Inference Protocol v2: tensors with a name, shape and flat (or nested) data.
    if (specs.length > 0 && specs.every((s) => isObject(s) && typeof s.name === "string" && Array.isArray(s.shape) && "data" in s)) {
      const tensors = specs as { name: string; shape: unknown[]; data: unknown }[];
      if (tensors.length === 1 && tensors[0]!.shape.length >= 2) {
        const t = tensors[0]!;
        const width = t.shape.slice(1).reduce<number>((a, n) => a * (Number(n) > 0 ? Number(n) : 1), 1);
        const data = flatten(t.data);
        const rows: Row[] = [];
        for (let r = 0; r < Math.min(max, Math.floor(data.length / width)); r++) rows.push(positionalRow(data.slice(r * width, (r + 1) * width)));
        return { rows, positional: true };
      }
      const columns = tensors.map((t) => ({ name: t.name, data: flatten(t.data) }));
      const n = Math.min(max, ...columns.map((c) => c.data.length));
      return { rows: Array.from({ length: n }, (_, r) => Object.fromEntries(columns.map((c) => [c.name, c.data[r]]))), positional: false };
    }
    return fromList(specs, max);
  }
  if (isObject(body.inputs)) {
    const entries = Object.entries(body.inputs).filter(([, v]) => Array.isArray(v)) as [string, unknown[]][];
    if (entries.length === 1 && entries[0]![1].some(Array.isArray)) return fromList(entries[0]![1], max);
    const n = Math.min(max, ...entries.map(([, v]) => v.length));
    return { rows: Array.from({ length: n }, (_, r) => Object.fromEntries(entries.map(([k, v]) => [k, v[r]]))), positional: false };
  }
  return none;
}

/** One row's prediction: a number as it is; [p0, p1] the positive class's score; a longer row its arg-max class. */
function predictionOfRow(row: unknown): number | null {
  if (typeof row === "number") return Number.isFinite(row) ? row : null;
  if (typeof row === "boolean") return row ? 1 : 0;
  if (Array.isArray(row)) {
    let values: unknown[];
    try {
      values = flatten(row);
    } catch {
      return null;
    }
    if (values.length === 0 || !values.every((v) => typeof v === "number")) return null;
    const nums = values as number[];
    if (nums.length === 1) return predictionOfRow(nums[0]);
    if (nums.length === 2) return predictionOfRow(nums[1]);
    return nums.indexOf(Math.max(...nums));
  }
  if (isObject(row)) {
    const first = Object.values(row)[0];
    return first === undefined ? null : predictionOfRow(first);
  }
  return null;
}

/** The first `count` rows' predictions of a model server's answer (OIP v2 `outputs` or MLflow `predictions`). */
export function rowPredictions(body: unknown, count: number): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(count).fill(null);
  if (!isObject(body)) return out;
  if (Array.isArray(body.outputs) && isObject(body.outputs[0])) {
    const first = body.outputs[0];
    const shape = Array.isArray(first.shape) ? first.shape.map(Number) : [];
    let data: unknown[];
    try {
      data = flatten(first.data);
    } catch {
      return out;
    }
    const width = shape.length >= 2 ? shape.slice(1).reduce((a, n) => a * (n > 0 ? n : 1), 1) : 1;
    for (let r = 0; r < count; r++) out[r] = predictionOfRow(width === 1 ? data[r] : data.slice(r * width, (r + 1) * width));
    return out;
  }
  const p = body.predictions;
  if (Array.isArray(p)) for (let r = 0; r < count; r++) out[r] = r < p.length ? predictionOfRow(p[r]) : null;
  else if (isObject(p)) {
    const firstList = Object.values(p).find(Array.isArray);
    if (firstList) for (let r = 0; r < count; r++) out[r] = r < firstList.length ? predictionOfRow(firstList[r]) : null;
  }
  return out;
}
