-- Metric rollups keep three levels (buckets of 64, 1,024 and 16,384 steps; server/tracking/rollups.ts): each
-- level costs every log-batch one upsert per key, and the fourth (262,144 steps) is no longer written or read.
-- Its rows are removed so they do not sit stale beside the maintained ones.
DELETE FROM "metric_rollups" WHERE "level" = 3;
