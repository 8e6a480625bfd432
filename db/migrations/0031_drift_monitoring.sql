ALTER TABLE "deployments" ADD COLUMN "sample_rate" double precision DEFAULT 0.1 NOT NULL;
--> statement-breakpoint
ALTER TABLE "alert_rules" ADD COLUMN "feature" text;
--> statement-breakpoint
ALTER TABLE "alert_rules" ADD COLUMN "signal" text;
--> statement-breakpoint
CREATE TABLE "inference_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" uuid NOT NULL,
	"request_id" text NOT NULL,
	"features" jsonb NOT NULL,
	"prediction" double precision,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "inference_samples" ADD CONSTRAINT "inference_samples_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "inference_samples_deployment_at_idx" ON "inference_samples" USING btree ("deployment_id","at");
--> statement-breakpoint
CREATE INDEX "inference_samples_at_idx" ON "inference_samples" USING btree ("at");
--> statement-breakpoint
CREATE TABLE "drift_windows" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" uuid NOT NULL,
	"window_start" timestamp with time zone NOT NULL,
	"window_end" timestamp with time zone NOT NULL,
	"feature" text NOT NULL,
	"kind" text NOT NULL,
	"samples" integer NOT NULL,
	"psi" double precision,
	"chi_square_p" double precision,
	"missing_share" double precision NOT NULL,
	"invalid_share" double precision NOT NULL,
	"live" jsonb NOT NULL,
	"computed_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "drift_windows" ADD CONSTRAINT "drift_windows_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "drift_windows_window_feature_idx" ON "drift_windows" USING btree ("deployment_id","window_start","feature");
--> statement-breakpoint
CREATE INDEX "drift_windows_computed_at_idx" ON "drift_windows" USING btree ("computed_at");
