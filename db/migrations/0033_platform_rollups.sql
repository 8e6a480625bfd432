CREATE TABLE "api_request_minutes" (
	"minute" timestamp with time zone NOT NULL,
	"endpoint" text NOT NULL,
	"method" text NOT NULL,
	"status_class" text NOT NULL,
	"requests" integer NOT NULL,
	"errors" integer NOT NULL,
	"latency_ms_sum" double precision NOT NULL,
	"latency_buckets" integer[] NOT NULL,
	CONSTRAINT "api_request_minutes_minute_endpoint_method_status_class_pk" PRIMARY KEY("minute","endpoint","method","status_class")
);
--> statement-breakpoint
CREATE TABLE "platform_minutes" (
	"minute" timestamp with time zone PRIMARY KEY NOT NULL,
	"queue_depth" integer NOT NULL,
	"queue_oldest_wait_seconds" double precision NOT NULL,
	"running_jobs" integer NOT NULL,
	"active_users" integer NOT NULL,
	"active_users_hour" integer NOT NULL
);
