// The keys each experiment's runs have logged, kept as they are written so the runs table's column
// list and the filter autocomplete never scan the params, metrics or tags of every run.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { experimentKeys } from "@/db/schema";

type Kind = "param" | "metric" | "tag";

// Keys rarely change, so each process remembers what it has recorded and skips the write next time.
const recorded = new Set<string>();
const MAX_REMEMBERED = 200_000;

/** The keys (sorted, distinct) this process has not yet seen recorded for the experiment. */
export function unrecordedKeys(experimentId: number, kind: Kind, keys: Iterable<string>): string[] {
  return [...new Set(keys)].filter((k) => !recorded.has(`${experimentId}\u0000${kind}\u0000${k}`)).sort();
}

/** Remembers keys as recorded (call only once the write that recorded them has committed). */
export function markRecorded(experimentId: number, kind: Kind, keys: Iterable<string>): void {
  if (recorded.size > MAX_REMEMBERED) recorded.clear();
  for (const k of keys) recorded.add(`${experimentId}\u0000${kind}\u0000${k}`);
}

export async function recordKeys(db: DbOrTx, experimentId: number, kind: Kind, keys: Iterable<string>): Promise<void> {
  const fresh = unrecordedKeys(experimentId, kind, keys);
  if (fresh.length === 0) return;
  await db.insert(experimentKeys).values(fresh.map((key) => ({ experimentId, kind, key }))).onConflictDoNothing();
  markRecorded(experimentId, kind, fresh);
}

/** Recomputes an experiment's keys from its runs (bulk loads bypass the write path). */
export async function rebuildExperimentKeys(db: DbOrTx, experimentId: number): Promise<void> {
  await db.execute(sql`
    insert into ${experimentKeys} (experiment_id, kind, key)
    select distinct ${experimentId}::bigint, 'param', p.key from params p join runs r on r.id = p.run_id where r.experiment_id = ${experimentId}
    union select distinct ${experimentId}::bigint, 'metric', m.key from latest_metrics m join runs r on r.id = m.run_id where r.experiment_id = ${experimentId}
    union select distinct ${experimentId}::bigint, 'tag', t.key from run_tags t join runs r on r.id = t.run_id where r.experiment_id = ${experimentId}
    on conflict do nothing`);
}
