// The instance-type catalog admins manage: what a job may ask for by name, and its price.
import { z } from "zod";

export const instanceTypeNameSchema = z
  .string()
  .trim()
  .min(2, "An instance type's name has at least 2 characters")
  .max(64, "An instance type's name has at most 64 characters")
  .regex(/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/, "Use lowercase letters, digits, dots and dashes, such as gpu.large");

export const instanceTypeSchema = z.strictObject({
  cpu: z.number({ error: "cpu must be a number of cores" }).positive("cpu must be more than 0").max(1024),
  memory_gib: z.number({ error: "memory_gib must be a number" }).positive("memory_gib must be more than 0").max(16_384),
  gpu_type: z.string().trim().min(1).max(64).regex(/^[a-z0-9][a-z0-9.-]*$/, "Name the GPU type like nvidia-a100").nullable().optional(),
  gpu_count: z.number({ error: "gpu_count must be a whole number" }).int("gpu_count must be a whole number").min(0).max(64).optional().default(0),
  hourly_price_usd: z.number({ error: "hourly_price_usd must be a number" }).min(0, "hourly_price_usd cannot be negative").max(100_000),
}).superRefine((t, c) => {
  if (t.gpu_count > 0 && !t.gpu_type) c.addIssue({ code: "custom", path: ["gpu_type"], message: "an instance type with GPUs names their type (e.g. nvidia-a100)" });
  if (t.gpu_count === 0 && t.gpu_type) c.addIssue({ code: "custom", path: ["gpu_count"], message: `gpu_count is 0 but gpu_type is ${t.gpu_type}; give the count, or leave the type empty` });
});
export type InstanceTypeInput = z.infer<typeof instanceTypeSchema>;
