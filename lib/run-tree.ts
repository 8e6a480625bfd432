// Groups a page of runs by parent (tag mlflow.parentRunId) for the runs table: children sit under their parent
// when the parent is on the same page; a child whose parent is not on the page stays at the top level.

export type TreeInput = { run_id: string; parent_run_id: string | null };

export type RunNode<T extends TreeInput> = { run: T; children: RunNode<T>[] };

/** The page as a forest, keeping the page's order (its sort) among siblings. */
export function groupRuns<T extends TreeInput>(runs: readonly T[]): RunNode<T>[] {
  const nodes = new Map<string, RunNode<T>>();
  for (const run of runs) if (!nodes.has(run.run_id)) nodes.set(run.run_id, { run, children: [] });
  // A run on a loop of parents (bad data) would hide the whole loop: such a run stays at the top level.
  const onLoop = (id: string): boolean => {
    const seen = new Set<string>();
    for (let p = nodes.get(id)?.run.parent_run_id; p && nodes.has(p) && !seen.has(p); p = nodes.get(p)!.run.parent_run_id) {
      if (p === id) return true;
      seen.add(p);
    }
    return false;
  };
  const roots: RunNode<T>[] = [];
  const placed = new Set<string>();
  for (const run of runs) {
    if (placed.has(run.run_id)) continue;
    placed.add(run.run_id);
    const node = nodes.get(run.run_id)!;
    const parent = run.parent_run_id ? nodes.get(run.parent_run_id) : undefined;
    if (parent && !onLoop(run.run_id)) parent.children.push(node);
    else roots.push(node);
  }
  return roots;
}

export type VisibleRow<T extends TreeInput> = { run: T; depth: number; childCount: number; expanded: boolean };

/** The rows to draw: every root, and the children of each expanded run below it. */
export function visibleRows<T extends TreeInput>(forest: readonly RunNode<T>[], expanded: ReadonlySet<string>): VisibleRow<T>[] {
  const out: VisibleRow<T>[] = [];
  const walk = (node: RunNode<T>, depth: number) => {
    const open = node.children.length > 0 && expanded.has(node.run.run_id);
    out.push({ run: node.run, depth, childCount: node.children.length, expanded: open });
    if (open) for (const child of node.children) walk(child, depth + 1);
  };
  for (const root of forest) walk(root, 0);
  return out;
}
