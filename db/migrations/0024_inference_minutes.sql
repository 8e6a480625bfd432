CREATE TABLE "inference_minutes" (
	"deployment_id" uuid NOT NULL,
	"version" integer NOT NULL,
	"minute" timestamp with time zone NOT NULL,
	"requests" integer NOT NULL,
	"errors_5xx" integer NOT NULL,
	"errors_4xx" integer NOT NULL,
	"latency_ms_sum" double precision NOT NULL,
	"latency_buckets" integer[] NOT NULL,
	CONSTRAINT "inference_minutes_deployment_id_minute_version_pk" PRIMARY KEY("deployment_id","minute","version")
);
--> statement-breakpoint
ALTER TABLE "inference_minutes" ADD CONSTRAINT "inference_minutes_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "inference_minutes_minute_idx" ON "inference_minutes" USING btree ("minute");
