// Writing audit events: inside the caller's transaction for changes, on its own for denials and errors.
import { refusalFor } from "../auth/policy";
import type { Ctx } from "../context";
import { AppError } from "../errors";
import { appendAudit, type AuditInput } from "./chain";
import { queueDenial } from "./denials";

// The chain itself lives in chain.ts; services import both from here.
export { appendAudit, appendAudits, type AuditInput } from "./chain";

/** Records an event in its own transaction (denied attempts, failures, sign-ins). */
export async function recordAudit(ctx: Ctx, input: AuditInput): Promise<void> {
  await ctx.db.transaction((tx) => appendAudit(tx, ctx, input));
}

/**
 * Audits a denied attempt (queued: the refusal does not wait for the write, see denials.ts) and returns the error to throw, shaped by the policy's `refusalFor`: anything
 * about another team's object answers not_found (`missing`, or `message` for reads), whatever the verb;
 * a write the actor's role does not allow in their own team answers forbidden (`message`).
 */
export async function denied(
  ctx: Ctx,
  input: Omit<AuditInput, "outcome"> & { mode: "read" | "write"; message?: string; missing?: string },
): Promise<AppError> {
  const { mode, message, missing, ...event } = input;
  queueDenial(ctx, { ...event, outcome: "denied", details: { ...event.details, mode } });
  if (refusalFor(ctx.actor, mode, input.teamId) === "not_found") {
    return new AppError("not_found", (mode === "read" ? message : missing) ?? `${input.target} was not found.`);
  }
  return new AppError("forbidden", message ?? `You are not allowed to ${input.action.replace(/[._]/g, " ")} (${input.target})`);
}
