ALTER TABLE "deployments" ADD COLUMN "resource_source" jsonb;
--> statement-breakpoint
CREATE TABLE "deployment_resource_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"deployment_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"replicas" integer,
	"cpu_cores" double precision NOT NULL,
	"memory_bytes" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deployment_resource_samples" ADD CONSTRAINT "deployment_resource_samples_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "deployment_resource_samples_deployment_idx" ON "deployment_resource_samples" USING btree ("deployment_id","at");
