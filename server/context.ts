// What every service function receives first: who acts, on which database, from which request.
import { randomUUID } from "node:crypto";
import type { Db, DbOrTx } from "@/db/client";
import type { Actor } from "./auth/actor";
import { SYSTEM_ACTOR } from "./auth/actor";

export type RequestInfo = { id: string; ip?: string; userAgent?: string };
export type Ctx = { actor: Actor; db: Db; request: RequestInfo };
export type TxCtx = Omit<Ctx, "db"> & { db: DbOrTx };

export function newRequestId(): string {
  return randomUUID();
}

export function systemCtx(db: Db, what = "system"): Ctx {
  return { actor: SYSTEM_ACTOR, db, request: { id: `${what}-${newRequestId()}` } };
}
