// Sweep requests (POST /api/v1/experiments/{id}/sweeps, the New sweep form) and the sweep as answered.
import { z } from "zod";
import { trainJobSchema } from "./jobs";

export const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;
const name = z.string().regex(PARAM_NAME, "a param name is a letter or _ then letters, digits, _ or - (at most 64), as the job's --<name> flag takes it");
const finite = (what: string) => z.number({ error: `${what} must be a number` }).finite();

export const sweepParamSchema = z.discriminatedUnion("type", [
  z.strictObject({ name, type: z.literal("uniform"), low: finite("low"), high: finite("high") }),
  z.strictObject({ name, type: z.literal("log_uniform"), low: finite("low").positive("log_uniform needs low > 0 (it is sampled on a log scale)"), high: finite("high") }),
  z.strictObject({ name, type: z.literal("int"), low: finite("low").int("an int param's low must be a whole number"), high: finite("high").int("an int param's high must be a whole number") }),
  z.strictObject({
    name, type: z.literal("categorical"),
    values: z.array(z.union([z.string().min(1).max(200), finite("a value")])).min(1, "a categorical param needs at least one value").max(100, "at most 100 values"),
  }),
  z.strictObject({ name, type: z.literal("fixed"), value: z.union([z.string().min(1).max(200), finite("value")]) }),
], { error: (i) => (i.code === "invalid_union" ? "type must be one of uniform, log_uniform, int, categorical, fixed" : undefined) });
export type SweepParamInput = z.infer<typeof sweepParamSchema>;

/** The job each trial runs: what a training job takes, less its name and team (the sweep names its trials). */
export const sweepTemplateSchema = trainJobSchema.omit({ name: true, team: true });

export const createSweepSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    space: z.array(sweepParamSchema).min(1, "the search space needs at least one param").max(20, "at most 20 params"),
    objective: z.strictObject({ metric: z.string().trim().min(1, "name the metric to optimize").max(250), direction: z.enum(["minimize", "maximize"]) }),
    algorithm: z.enum(["grid", "random", "bayesian"]),
    max_trials: z.number().int().min(1, "max_trials is at least 1").max(500, "max_trials is at most 500").optional().default(20),
    parallelism: z.number().int().min(1, "parallelism is at least 1").max(50, "parallelism is at most 50").optional().default(2),
    grid_points: z.number().int().min(2).max(50).optional().default(3),
    seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
    early_stopping: z
      .discriminatedUnion("type", [
        z.strictObject({ type: z.literal("none") }),
        z.strictObject({
          type: z.literal("median"),
          min_trials: z.number().int().min(1).max(100).optional().default(3),
          min_steps: z.number().int().min(0).max(1_000_000).optional().default(3),
        }),
      ])
      .optional()
      .default({ type: "none" }),
    template: sweepTemplateSchema,
  })
  .superRefine((s, c) => {
    const seen = new Set<string>();
    s.space.forEach((p, i) => {
      if (seen.has(p.name)) c.addIssue({ code: "custom", path: ["space", i, "name"], message: `param "${p.name}" appears twice` });
      seen.add(p.name);
      if ((p.type === "uniform" || p.type === "log_uniform" || p.type === "int") && !(p.low < p.high)) {
        c.addIssue({ code: "custom", path: ["space", i, "high"], message: `param "${p.name}": low (${p.low}) must be below high (${p.high})` });
      }
      if (p.type === "categorical" && new Set(p.values.map(String)).size !== p.values.length) {
        c.addIssue({ code: "custom", path: ["space", i, "values"], message: `param "${p.name}" lists a value twice` });
      }
    });
    if (!s.space.some((p) => p.type !== "fixed")) c.addIssue({ code: "custom", path: ["space"], message: "the search space needs at least one param that varies (not only fixed ones)" });
    // Each param is passed as one more --name=value argument: the trial's command must stay within a job's 100.
    const commandLength = (s.template as { command?: unknown[] }).command?.length ?? 0;
    if (commandLength + s.space.length > 100) c.addIssue({ code: "custom", path: ["space"], message: `the template's command (${commandLength} arguments) plus one argument per param (${s.space.length}) is over a job's 100 arguments; use fewer params or a shorter command` });
    if (s.algorithm === "grid" && s.space.some((p) => p.type === "log_uniform" || p.type === "uniform") && s.grid_points < 2) {
      c.addIssue({ code: "custom", path: ["grid_points"], message: "grid_points is at least 2" });
    }
  });
export type CreateSweepInput = z.infer<typeof createSweepSchema>;

export const registerBestSchema = z.strictObject({
  name: z.string().trim().min(1, "name the model to register the best trial as").max(256),
  path: z.string().max(500).optional().default("model"),
});

export const SWEEP_STATE_VALUES = ["running", "paused", "stopping", "finished", "stopped", "failed"] as const;
export const TRIAL_STATE_VALUES = ["waiting", "running", "succeeded", "failed", "cancelled", "pruned"] as const;

export const sweepTrialSchema = z.object({
  number: z.number().int(),
  state: z.enum(TRIAL_STATE_VALUES).describe("waiting: its job is queued (queue_reason says why); pruned: stopped early by the median rule"),
  params: z.record(z.string(), z.union([z.string(), z.number()])),
  objective: z.number().nullable().describe("The objective metric's last logged value (null while running or if never logged)"),
  job_id: z.string().nullable(),
  run_id: z.string(),
  queue_reason: z.string().nullable(),
  message: z.string().nullable(),
  attempt: z.number().int(),
});
export type SweepTrialDto = z.infer<typeof sweepTrialSchema>;

export const sweepSchema = z.object({
  sweep_id: z.string(),
  name: z.string(),
  team: z.string(),
  experiment_id: z.string(),
  parent_run_id: z.string(),
  user: z.string(),
  state: z.enum(SWEEP_STATE_VALUES),
  message: z.string().nullable(),
  algorithm: z.enum(["grid", "random", "bayesian"]),
  objective: z.object({ metric: z.string(), direction: z.enum(["minimize", "maximize"]) }),
  space: z.array(z.record(z.string(), z.unknown())),
  max_trials: z.number().int(),
  parallelism: z.number().int(),
  seed: z.number().int(),
  early_stopping: z.record(z.string(), z.unknown()),
  template: z.record(z.string(), z.unknown()),
  counts: z.object({ waiting: z.number().int(), running: z.number().int(), succeeded: z.number().int(), pruned: z.number().int(), failed: z.number().int(), cancelled: z.number().int(), total: z.number().int() }),
  /** Why trials wait: the scheduler's queue reasons, most common first. */
  waiting_reasons: z.array(z.object({ reason: z.string(), trials: z.number().int() })),
  best_trial: sweepTrialSchema.nullable(),
  trials: z.array(sweepTrialSchema),
  created_at: z.string(),
  finished_at: z.string().nullable(),
  viewer_can: z.object({ control: z.boolean(), register: z.boolean() }),
});
export type SweepDto = z.infer<typeof sweepSchema>;

export const sweepCapabilitiesSchema = z.object({
  bayesian: z.object({ available: z.boolean(), message: z.string() }),
});
export type SweepCapabilities = z.infer<typeof sweepCapabilitiesSchema>;

/** Portal server actions. */
export const sweepFormAction = z.strictObject({ experimentId: z.string().regex(/^\d{1,18}$/, "Choose an experiment"), spec: createSweepSchema });
export const sweepControlAction = z.strictObject({ id: z.string().uuid(), action: z.enum(["pause", "resume", "stop"]) });
export const sweepRegisterAction = z.strictObject({ id: z.string().uuid(), name: registerBestSchema.shape.name });
