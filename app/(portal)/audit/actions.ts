"use server";

import { z } from "zod";
import { verifyAudit } from "@/server/audit/service";
import { safeAction } from "@/server/auth/action";

export const verifyAuditAction = safeAction("verifyAuditAction", z.undefined(), (ctx) => verifyAudit(ctx));
