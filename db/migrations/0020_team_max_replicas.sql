ALTER TABLE "team_quotas" ADD COLUMN "max_replicas" integer DEFAULT 10 NOT NULL;
