// The job queue and active users, sampled once a minute into `platform_minutes` by the leading worker
// (server/workers/platform-rollups.ts): the Platform page's history of them without Prometheus.
import { sql } from "drizzle-orm";
import type { DbOrTx } from "@/db/client";
import { ACTIVE_WINDOW_MINUTES } from "./metrics";

export type PlatformSample = { minute: number; queueDepth: number; queueOldestWaitSeconds: number; runningJobs: number; activeUsers: number; activeUsersHour: number };

/** Reads the queue and active users now and stores them as the minute of `now` (a second sample of one minute replaces the first). */
export async function samplePlatform(db: DbOrTx, now = new Date()): Promise<PlatformSample> {
  const at = now.toISOString();
  const minute = now.getTime() - (now.getTime() % 60_000);
  const result = (await db.execute(sql`
    select
      (select count(*) from jobs where status in ('queued', 'admitted'))::int as depth,
      coalesce((select extract(epoch from (${at}::timestamptz - min(queued_at))) from jobs where status in ('queued', 'admitted')), 0)::float8 as oldest,
      (select count(*) from jobs where status = 'running')::int as running,
      (select count(*) from users where last_active_at > ${at}::timestamptz - make_interval(mins => ${ACTIVE_WINDOW_MINUTES}) and deactivated_at is null)::int as active,
      (select count(*) from users where last_active_at > ${at}::timestamptz - interval '1 hour' and deactivated_at is null)::int as active_hour`)) as unknown as {
    rows: { depth: number | string; oldest: number | string; running: number | string; active: number | string; active_hour: number | string }[];
  };
  const r = result.rows[0]!;
  const sample: PlatformSample = {
    minute, queueDepth: Number(r.depth), queueOldestWaitSeconds: Math.max(0, Number(r.oldest)), runningJobs: Number(r.running),
    activeUsers: Number(r.active), activeUsersHour: Number(r.active_hour),
  };
  await db.execute(sql`
    insert into platform_minutes (minute, queue_depth, queue_oldest_wait_seconds, running_jobs, active_users, active_users_hour)
    values (${new Date(minute).toISOString()}::timestamptz, ${sample.queueDepth}, ${sample.queueOldestWaitSeconds}, ${sample.runningJobs}, ${sample.activeUsers}, ${sample.activeUsersHour})
    on conflict (minute) do update set queue_depth = excluded.queue_depth, queue_oldest_wait_seconds = excluded.queue_oldest_wait_seconds,
      running_jobs = excluded.running_jobs, active_users = excluded.active_users, active_users_hour = excluded.active_users_hour`);
  return sample;
}
