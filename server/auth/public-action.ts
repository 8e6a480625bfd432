// The wrapper for the few server actions anyone may call (an invitation link's page): parse input with zod,
// call one service with the visitor's request info and — when signed in — their context. Errors come back
// as values with the service's message (never a 403/404 page: the visitor needs the words).
import { headers } from "next/headers";
import type { z } from "zod";
import type { ActionResult } from "@/lib/action-result";
import { getReadyDb } from "../bootstrap";
import type { Db } from "@/db/client";
import type { Ctx, RequestInfo } from "../context";
import { newRequestId } from "../context";
import { isAppError } from "../errors";
import { zodFieldErrors } from "../http/errors";
import { log } from "../observability/log";
import { clientIp } from "./request-info";
import { getPageCtx } from "./session";

export type PublicCall = { db: Db; request: RequestInfo; ctx: Ctx | null };

export function publicAction<I, O>(schema: z.ZodType<I>, run: (call: PublicCall, input: I) => Promise<O>) {
  return async (raw: unknown): Promise<ActionResult<O>> => {
    const h = await headers();
    const request: RequestInfo = { id: h.get("x-request-id") ?? newRequestId(), ip: clientIp(h), userAgent: h.get("user-agent") ?? undefined };
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      return { ok: false, code: "invalid_input", error: "Please correct the highlighted fields.", fieldErrors: zodFieldErrors(parsed.error) };
    }
    try {
      return { ok: true, data: await run({ db: await getReadyDb(), request, ctx: await getPageCtx() }, parsed.data) };
    } catch (err) {
      if (!isAppError(err)) {
        log.error("action failed", { request_id: request.id, err });
        return { ok: false, code: "internal", error: `Something went wrong on our side (request ${request.id}).` };
      }
      return { ok: false, code: err.code, error: err.message, fieldErrors: err.fields };
    }
  };
}
