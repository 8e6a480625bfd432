"use server";

import { revalidatePath } from "next/cache";
import { jobFormAction, jobIdAction } from "@/lib/schemas/jobs";
import { safeAction } from "@/server/auth/action";
import { cancelJob, previewJob, retryJob, submitJob } from "@/server/jobs/service";

export const previewJobAction = safeAction("previewJobAction", jobFormAction, (ctx, input) => previewJob(ctx, input.experimentId, input.spec));

export const submitJobAction = safeAction("submitJobAction", jobFormAction, async (ctx, input) => {
  const job = await submitJob(ctx, input.experimentId, input.spec);
  revalidatePath("/jobs");
  return job.job_id;
});

export const cancelJobAction = safeAction("cancelJobAction", jobIdAction, async (ctx, input) => {
  const job = await cancelJob(ctx, input.id);
  revalidatePath(`/jobs/${input.id}`);
  return job.status;
});

export const retryJobAction = safeAction("retryJobAction", jobIdAction, async (ctx, input) => {
  const job = await retryJob(ctx, input.id);
  revalidatePath("/jobs");
  return job.job_id;
});
