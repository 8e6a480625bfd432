ALTER TABLE "model_versions" ADD COLUMN "content_digest" text;--> statement-breakpoint
ALTER TABLE "model_versions" ADD COLUMN "content_manifest" jsonb;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "content_digest" text;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "model_sha256" text;
