import { z } from "zod";

export const auditQuerySchema = z.strictObject({
  team: z.string().trim().min(1).optional(),
  actor: z.string().trim().min(1).optional(),
  action: z.string().trim().min(1).optional(),
  outcome: z.enum(["allowed", "denied", "error"], { error: "outcome is one of allowed, denied, error" }).optional(),
  since: z.iso.datetime({ offset: true, error: "since must be an ISO 8601 time, e.g. 2026-01-31T00:00:00Z" }).optional(),
  page_token: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(500, "limit is at most 500").default(100),
});
export type AuditQuery = z.infer<typeof auditQuerySchema>;

export type AuditEventDto = {
  id: number;
  at: string;
  actor: string;
  actor_type: string;
  action: string;
  target: string;
  team: string | null;
  outcome: "allowed" | "denied" | "error";
  request_id: string | null;
  ip: string | null;
  user_agent: string | null;
  details: Record<string, unknown>;
};
export type AuditVerifyDto = { ok: boolean; checked: number; first_broken_id: number | null };
