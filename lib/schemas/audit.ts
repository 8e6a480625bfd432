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
export type AuditVerifyDto = {
  ok: boolean;
  /** Events the caller may see that were checked (the whole chain is always walked). */
  checked: number;
  /** The first broken event among those the caller may see; null when none is (or it lies outside their teams). */
  first_broken_id: number | null;
  /** "all" for platform admins, "own_teams" for team leads. */
  scope: "all" | "own_teams";
  /** The chain's head against the anchor kept outside the database: none yet, matched, or broken. */
  anchor: "none" | "matched" | "broken";
  /** What is wrong, in words (never naming another team's events to a team lead); null when ok. */
  problem: string | null;
};
