ALTER TABLE "deployments" ADD COLUMN "target_concurrency" integer DEFAULT 4 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "scaled_at" timestamp with time zone;
