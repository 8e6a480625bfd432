// The one wrapper for server actions: re-check the session, parse input with zod, call one service.
// A page-level check does not protect the actions on it, so every action resolves its actor here.
import { forbidden, notFound, unauthorized } from "next/navigation";
import type { z } from "zod";
import type { ActionResult } from "@/lib/action-result";
import type { Ctx } from "../context";
import { isAppError } from "../errors";
import { zodFieldErrors } from "../http/errors";
import { hasNul } from "../http/api-route";
import { log } from "../observability/log";
import { annotateActiveSpan, currentTraceIds, withSpan } from "../observability/tracing";
import { getPageCtx } from "./session";

/** `name` (the exported action's name) names its span: `action submitJobAction`. */
export function safeAction<I, O>(name: string, schema: z.ZodType<I>, run: (ctx: Ctx, input: I) => Promise<O>) {
  return (raw: unknown): Promise<ActionResult<O>> => withSpan(`action ${name}`, { attributes: { "cairn.action": name } }, () => runAction(schema, run, raw));
}

async function runAction<I, O>(schema: z.ZodType<I>, run: (ctx: Ctx, input: I) => Promise<O>, raw: unknown): Promise<ActionResult<O>> {
  const ctx = await getPageCtx();
  if (!ctx) unauthorized();
  annotateActiveSpan({ "cairn.request_id": ctx.request.id });
  if (hasNul(raw)) return { ok: false, code: "invalid_input", error: "The form holds a character Cairn cannot store (a NUL, or half of a UTF-16 surrogate pair); remove it." };
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    return { ok: false, code: "invalid_input", error: "Please correct the highlighted fields.", fieldErrors: zodFieldErrors(parsed.error) };
  }
  try {
    return { ok: true, data: await run(ctx, parsed.data) };
  } catch (err) {
    if (!isAppError(err)) {
      log.error("action failed", { request_id: ctx.request.id, err });
      const traceId = currentTraceIds()?.traceId;
      return { ok: false, code: "internal", error: `Something went wrong on our side (request ${ctx.request.id}${traceId ? `, trace ${traceId}` : ""}).` };
    }
    // Raw calls to actions the actor may not use answer like the REST API: 403 / 404.
    if (err.code === "forbidden") forbidden();
    if (err.code === "not_found") notFound();
    return { ok: false, code: err.code, error: err.message, fieldErrors: err.fields };
  }
}
