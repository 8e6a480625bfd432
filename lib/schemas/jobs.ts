// Training job requests (POST /api/v1/experiments/{id}/train, the launch form) and job queries.
import { z } from "zod";

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names a job may not set: Cairn sets the tracking variables itself, and server secrets never reach a job. */
// Cairn's own variables, server secrets, and what the dynamic loader and libc act on (a job's LD_AUDIT would run its
// code in the sandbox's root stages: see server/compute/sandbox.ts LOADER_ENV, which strips them again at spawn).
export const RESERVED_ENV = /^(MLFLOW_TRACKING_|MLFLOW_EXPERIMENT_ID$|MLFLOW_RUN_ID$|CAIRN_|DATABASE_URL$|NEXTAUTH_|OIDC_|LD_|GCONV_PATH$|GETCONF_DIR$|HOSTALIASES$|LOCALDOMAIN$|LOCPATH$|MALLOC_TRACE$|NIS_PATH$|NLSPATH$|RESOLV_HOST_CONF$|RES_OPTIONS$|TZDIR$|GLIBC_TUNABLES$|NODE_OPTIONS$)/;

export const trainJobSchema = z.strictObject({
  source: z.string().max(200).optional(),
  command: z.array(z.string().min(1).max(4096)).min(1, "command needs at least the program to run").max(100).optional(),
  image: z.string().max(500).regex(/^[a-z0-9][a-z0-9._\-/:@]*$/i, "image must be a container image reference such as python:3.12-slim").optional(),
  instance_type: z.string().max(64).optional(),
  gpus: z.number().int().min(0).max(64).optional(),
  resources: z.strictObject({
    cpu: z.number().positive("cpu must be positive").max(1024),
    memory_gib: z.number().positive("memory_gib must be positive").max(8192),
    gpus: z.number().int().min(0).max(64).optional(),
  }).optional(),
  env: z.record(z.string(), z.string().max(32_768)).optional().default({})
    .refine((e) => Object.keys(e).length <= 100, "at most 100 environment variables")
    // The kernel takes at most 2 MiB of arguments and environment for a new program; Cairn adds its own variables.
    .refine((e) => Object.entries(e).reduce((n, [k, v]) => n + k.length + v.length + 2, 0) <= 256 * 1024, "the environment variables come to more than 256 KiB in all; pass large values as a file in the code instead")
    .superRefine((e, c) => {
      for (const k of Object.keys(e)) {
        if (!ENV_NAME.test(k)) c.addIssue({ code: "custom", message: `"${k}" is not a valid environment variable name` });
        else if (RESERVED_ENV.test(k)) c.addIssue({ code: "custom", message: `"${k}" is set by Cairn (or is a server secret) and cannot be given` });
      }
    }),
  priority: z.enum(["low", "normal", "high"]).optional().default("normal"),
  max_runtime_seconds: z.number().int().min(10, "max_runtime_seconds is at least 10").max(7 * 86_400, "max_runtime_seconds is at most 7 days").optional().default(3600),
  retries: z.number().int().min(0).max(5, "retries is at most 5").optional().default(0),
  name: z.string().trim().min(1).max(200).optional(),
  team: z.string().max(64).optional(),
});
export type TrainJobInput = z.infer<typeof trainJobSchema>;

export const listJobsQuery = z.object({
  team: z.string().max(64).optional(),
  status: z.enum(["queued", "admitted", "running", "succeeded", "failed", "cancelled"]).optional(),
  page_token: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional().default(100),
});

export const logsQuery = z.object({ follow: z.enum(["true", "false", "1", "0"]).optional().transform((v) => v === "true" || v === "1") });

/** Portal server actions. */
export const jobFormAction = z.strictObject({ experimentId: z.string().regex(/^\d{1,18}$/, "Choose an experiment"), spec: trainJobSchema });
export const jobIdAction = z.strictObject({ id: z.string().uuid() });

export const jobEventsQuery = z.object({ team: z.string().max(64).optional(), job: z.string().uuid().optional() });

/** Why a failed job failed, as GET /api/v1/jobs/{id} answers it in `failure` (server/jobs/failure-cause.ts). */
export const jobFailureSchema = z.object({
  summary: z.string().describe("The cause in one line: the exception, the out-of-memory kill, the missing module or file, the timeout, else the exit"),
  line: z.number().int().positive().optional().describe("The 1-based line of the job's log the summary comes from"),
  kind: z.enum(["exception", "oom", "missing_module", "not_found", "permission", "timeout", "signal", "exit"]),
});
export type JobFailure = z.infer<typeof jobFailureSchema>;

/** GET /api/v1/jobs/{id}: the job (described in words in the OpenAPI document) with its failure cause. */
export const jobResponseSchema = z.looseObject({ job_id: z.string(), status: z.string(), failure: jobFailureSchema.nullable() });

/** GET /api/v1/jobs/{id}/resources: CPU and memory of the job while it ran, against what it asked for. */
export const jobResourcesSchema = z.object({
  samples: z.array(z.object({ at: z.string().describe("ISO 8601"), cpu_cores: z.number(), memory_bytes: z.number() })),
  limits: z.object({ cpu: z.number().describe("CPU cores the job asked for"), memory_bytes: z.number() }),
  source: z.enum(["process", "pod-metrics", "prometheus", "unavailable"]).describe("process: the local executor's /proc; pod-metrics: metrics.k8s.io; prometheus: cAdvisor's container series in Prometheus (clusters without metrics.k8s.io); unavailable: see message"),
  message: z.string().nullable().describe("Why there are no samples, when there cannot be"),
  total_samples: z.number().int().describe("Samples stored; the answer holds at most 1,000 (pairs merged: mean CPU, peak memory)"),
});
export type JobResources = z.infer<typeof jobResourcesSchema>;
