ALTER TABLE "job_resource_samples" ADD COLUMN "gpu_utilization" double precision;
--> statement-breakpoint
ALTER TABLE "deployment_resource_samples" ADD COLUMN "gpu_utilization" double precision;
--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "used_gpu_hours" double precision;
