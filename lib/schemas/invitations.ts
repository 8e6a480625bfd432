import { z } from "zod";
import { passwordSchema } from "./users";

/** A pending (or expired) invitation as a team's members table shows it. */
export type InvitationDto = {
  id: string;
  email: string;
  role: string;
  invited_by: string;
  created_at: string;
  expires_at: string;
  expired: boolean;
};

/** What the inviter sees once: the invitation and its link's path (the token is never shown again). */
export type InvitationCreatedDto = { invitation: InvitationDto; invite_path: string };

/** What the public invite page may show about a link. */
export type InvitationViewDto = {
  team: { slug: string; name: string };
  email: string;
  role: string;
  invited_by: string;
  expires_at: string;
  state: "pending" | "accepted" | "revoked" | "expired";
  /** An account with the invited email exists already: the invitee signs in as it to accept. */
  account_exists: boolean;
};

export const INVITE_TOKEN = /^[A-Za-z0-9_-]{43}$/;
export const inviteTokenSchema = z.string().regex(INVITE_TOKEN, "This invitation link is not valid; check that it was copied whole.");

export const acceptInvitationSchema = z.strictObject({
  token: inviteTokenSchema,
  name: z.string().trim().min(1, "Give your name").max(100, "Keep the name under 100 characters"),
  password: passwordSchema,
});
export type AcceptInvitationInput = z.infer<typeof acceptInvitationSchema>;

export const revokeInvitationSchema = z.strictObject({ team: z.string().min(1).max(64), id: z.string().uuid("Pick an invitation") });
