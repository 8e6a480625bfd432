CREATE TABLE "experiment_keys" (
	"experiment_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"key" text NOT NULL,
	CONSTRAINT "experiment_keys_experiment_id_kind_key_pk" PRIMARY KEY("experiment_id","kind","key")
);
--> statement-breakpoint
ALTER TABLE "experiment_keys" ADD CONSTRAINT "experiment_keys_experiment_id_experiments_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "public"."experiments"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Backfill from what runs have already logged.
INSERT INTO "experiment_keys" ("experiment_id", "kind", "key")
SELECT DISTINCT r."experiment_id", 'param', p."key" FROM "params" p JOIN "runs" r ON r."id" = p."run_id"
UNION SELECT DISTINCT r."experiment_id", 'metric', m."key" FROM "latest_metrics" m JOIN "runs" r ON r."id" = m."run_id"
UNION SELECT DISTINCT r."experiment_id", 'tag', t."key" FROM "run_tags" t JOIN "runs" r ON r."id" = t."run_id"
ON CONFLICT DO NOTHING;
