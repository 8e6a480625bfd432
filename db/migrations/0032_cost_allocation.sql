CREATE TABLE "resource_prices" (
	"kind" text NOT NULL,
	"gpu_type" text DEFAULT '' NOT NULL,
	"unit_price_usd" numeric(12, 6) NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "resource_prices_pk" PRIMARY KEY("kind","gpu_type"),
	CONSTRAINT "resource_prices_kind_ck" CHECK ("kind" in ('cpu', 'memory', 'gpu', 'storage')),
	CONSTRAINT "resource_prices_gpu_type_ck" CHECK ("kind" = 'gpu' or "gpu_type" = ''),
	CONSTRAINT "resource_prices_price_ck" CHECK ("unit_price_usd" >= 0)
);
--> statement-breakpoint
INSERT INTO "resource_prices" ("kind", "gpu_type", "unit_price_usd") VALUES
	('cpu', '', 0.0316),
	('memory', '', 0.0042),
	('gpu', '', 0.95),
	('gpu', 'nvidia-t4', 0.35),
	('gpu', 'nvidia-a100', 2.9),
	('storage', '', 0.04);
--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "cpu_core_hours" double precision;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "memory_gib_hours" double precision;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "gpu_hours" double precision;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "gpu_type" text;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "storage_gib_hours" double precision;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "cpu_usd" numeric(16, 6) DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "memory_usd" numeric(16, 6) DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "gpu_usd" numeric(16, 6) DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "storage_usd" numeric(16, 6) DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "used_cpu_core_hours" double precision;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "used_memory_gib_hours" double precision;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "usage_note" text;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "experiment_id" bigint;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "experiment_name" text;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "run_name" text;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "model_name" text;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "model_version" integer;--> statement-breakpoint
ALTER TABLE "cost_ledger" ADD COLUMN "environment" text;
