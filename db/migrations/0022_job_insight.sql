ALTER TABLE "jobs" ADD COLUMN "failure_cause" jsonb;
--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "resource_source" jsonb;
--> statement-breakpoint
CREATE TABLE "job_resource_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"job_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"cpu_cores" double precision NOT NULL,
	"memory_bytes" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "job_resource_samples" ADD CONSTRAINT "job_resource_samples_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "job_resource_samples_job_idx" ON "job_resource_samples" USING btree ("job_id","at");
