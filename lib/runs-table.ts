// The runs table's URL state (shareable links) and column identifiers, shared by server and client.
export type ColumnId = `params.${string}` | `metrics.${string}` | `tags.${string}`;
export type RunsTableState = { filter: string; order: string; cols: ColumnId[]; page: number; size: number };

export const PAGE_SIZES = [50, 100, 250, 500, 1000] as const;
export const DEFAULT_PAGE_SIZE = 100;

export function parseColumns(raw: string | undefined): ColumnId[] {
  if (!raw) return [];
  return raw.split(",").map((c) => c.trim()).filter((c): c is ColumnId => /^(params|metrics|tags)\.\S/.test(c)).slice(0, 200);
}

export function readState(sp: Record<string, string | undefined>, defaults: { cols: ColumnId[] }): RunsTableState {
  const size = Number(sp.size);
  const page = Number(sp.page);
  return {
    filter: sp.filter ?? "",
    order: sp.order ?? "",
    cols: sp.cols === undefined ? defaults.cols : parseColumns(sp.cols),
    page: Number.isInteger(page) && page > 0 ? page : 1,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_PAGE_SIZE,
  };
}

export function stateToQuery(state: Partial<RunsTableState>): string {
  const q = new URLSearchParams();
  if (state.filter) q.set("filter", state.filter);
  if (state.order) q.set("order", state.order);
  if (state.cols) q.set("cols", state.cols.join(","));
  if (state.page && state.page > 1) q.set("page", String(state.page));
  if (state.size && state.size !== DEFAULT_PAGE_SIZE) q.set("size", String(state.size));
  return q.toString();
}

/** Column header label and the identifier to sort by (backticked when the key needs it). */
export function columnSortKey(col: ColumnId): string {
  const dot = col.indexOf(".");
  const prefix = col.slice(0, dot);
  const key = col.slice(dot + 1);
  return /^[A-Za-z_][A-Za-z0-9_.\-/]*$/.test(key) ? `${prefix}.${key}` : `${prefix}.\`${key}\``;
}

const KIND_ORDER = ["metrics", "params", "tags"] as const;
const kindOf = (col: ColumnId) => KIND_ORDER.indexOf(col.slice(0, col.indexOf(".")) as (typeof KIND_ORDER)[number]);

/**
 * Adds a column beside the others of its kind: after the last of its kind, or, when it is the first of
 * its kind, where that kind belongs (metrics, then params, then tags). The user's own order is kept.
 */
export function insertColumn(cols: readonly ColumnId[], col: ColumnId): ColumnId[] {
  if (cols.includes(col)) return [...cols];
  const kind = kindOf(col);
  let at = -1;
  for (let i = 0; i < cols.length; i++) if (kindOf(cols[i]!) === kind) at = i + 1;
  if (at < 0) {
    at = cols.findIndex((c) => kindOf(c) > kind);
    if (at < 0) at = cols.length;
  }
  return [...cols.slice(0, at), col, ...cols.slice(at)];
}
