// Builds MLflow run DTOs for a page of runs in the database: one statement turns the page's runs, their
// latest metrics, params, tags, dataset inputs and model outputs into the JSON text of the `runs` array, in
// the page's order. The server passes that text through (a search answer) or parses it once (one run): the
// rows never become JavaScript objects one by one, so a heavy page costs the event loop almost nothing and
// other requests are not kept waiting behind it (issue 12: one team's searches stalled another's).
// PostgreSQL writes a non-finite double as a JSON string ("NaN", "Infinity", "-Infinity"), which is also
// MLflow's protobuf JSON mapping of a metric value.
import type { SQL } from "drizzle-orm";
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import type { RunRowDto } from "@/lib/schemas/experiments";
import type { RunDto } from "./dto";

/** The parts of a run's DTO that live in tables of their own, as JSON array expressions about the run `r`. */
export type RunDtoParts = { metrics: SQL; params: SQL; tags: SQL; datasetInputs: SQL; modelOutputs: SQL };

const info = (withEnd: boolean) => sql.raw(`json_build_object('run_id', r.id, 'run_uuid', r.id, 'run_name', r.name, 'experiment_id', r.experiment_id::text,
    'user_id', r.user_id, 'status', r.status, 'start_time', r.start_time,${withEnd ? " 'end_time', r.end_time," : ""} 'artifact_uri', r.artifact_uri, 'lifecycle_stage', r.lifecycle_stage)`);

/** The MLflow DTO of the run row `r` as a JSON expression (runs/create builds it from the rows it inserts). */
export function runDtoSql(parts: RunDtoParts): SQL {
  return sql`json_build_object(
      'info', case when r.end_time is null then ${info(false)} else ${info(true)} end,
      'data', json_build_object('metrics', ${parts.metrics}, 'params', ${parts.params}, 'tags', ${parts.tags}),
      'inputs', json_build_object('dataset_inputs', ${parts.datasetInputs}, 'model_inputs', '[]'::json),
      'outputs', json_build_object('model_outputs', ${parts.modelOutputs}))`;
}

/** The JSON text of the runs `ids` name, as MLflow DTOs in the order given; ids of missing runs are skipped. */
export async function runsJson(db: DbOrTx, ids: readonly string[]): Promise<string> {
  if (ids.length === 0) return "[]";
  const dto = runDtoSql({
    metrics: sql`coalesce((select json_agg(json_build_object('key', m.key, 'value', m.value, 'timestamp', m.timestamp, 'step', m.step) order by m.key)
          from latest_metrics m where m.run_id = r.id), '[]'::json)`,
    params: sql`coalesce((select json_agg(json_build_object('key', p.key, 'value', p.value) order by p.key) from params p where p.run_id = r.id), '[]'::json)`,
    tags: sql`coalesce((select json_agg(json_build_object('key', t.key, 'value', t.value) order by t.key) from run_tags t where t.run_id = r.id), '[]'::json)`,
    datasetInputs: sql`coalesce((select json_agg(json_build_object('tags', i.tags, 'dataset', json_strip_nulls(json_build_object(
            'name', d.name, 'digest', d.digest, 'source_type', d.source_type, 'source', d.source, 'schema', nullif(d.schema, ''), 'profile', nullif(d.profile, '')))))
          from run_inputs i join datasets d on d.id = i.dataset_id where i.run_id = r.id), '[]'::json)`,
    modelOutputs: sql`coalesce((select json_agg(json_build_object('model_id', o.model_id, 'step', o.step)) from run_outputs o where o.run_id = r.id), '[]'::json)`,
  });
  const result = await db.execute(sql`
    select coalesce(json_agg(${dto} order by page.ord), '[]'::json)::text as runs
    from ${page(ids)} join runs r on r.id = page.id`);
  return (result as unknown as { rows: { runs: string }[] }).rows[0]!.runs;
}

/** The page's run ids with their position, as a FROM item `page(id, ord)`. */
const page = (ids: readonly string[]) => sql`unnest(array[${sql.join(ids.map((id) => sql`${id}`), sql`, `)}]::text[]) with ordinality as page(id, ord)`;

/** The runs `ids` name as the run browser's flat rows (params, latest metrics and tags by key), in the order given. */
export async function runRows(db: DbOrTx, ids: readonly string[]): Promise<RunRowDto[]> {
  if (ids.length === 0) return [];
  const byKey = (table: string, alias: string) =>
    sql.raw(`coalesce((select json_object_agg(${alias}.key, ${alias}.value) from ${table} ${alias} where ${alias}.run_id = r.id), '{}'::json)`);
  const result = await db.execute(sql`
    select coalesce(json_agg(json_build_object(
      'run_id', r.id, 'run_name', r.name, 'status', r.status, 'start_time', r.start_time, 'end_time', r.end_time, 'user_id', r.user_id,
      'parent_run_id', r.parent_run_id, 'lifecycle_stage', r.lifecycle_stage,
      'params', ${byKey("params", "p")}, 'metrics', ${byKey("latest_metrics", "m")}, 'tags', ${byKey("run_tags", "t")}
    ) order by page.ord), '[]'::json)::text as runs
    from ${page(ids)} join runs r on r.id = page.id`);
  return JSON.parse((result as unknown as { rows: { runs: string }[] }).rows[0]!.runs) as RunRowDto[];
}

/** The runs `ids` name as MLflow DTOs, in the order given. */
export async function hydrateRuns(db: DbOrTx, ids: readonly string[]): Promise<RunDto[]> {
  return JSON.parse(await runsJson(db, ids)) as RunDto[];
}
