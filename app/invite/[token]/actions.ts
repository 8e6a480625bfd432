"use server";

import { z } from "zod";
import { acceptInvitationSchema, inviteTokenSchema } from "@/lib/schemas/invitations";
import { publicAction } from "@/server/auth/public-action";
import { AppError } from "@/server/errors";
import { acceptInvitation, acceptInvitationAsUser } from "@/server/teams/invitations";

// Public: the link's token is the credential. Sets the invitee's name and password and creates the account.
export const acceptInvitationAction = publicAction(acceptInvitationSchema, async ({ db, request }, input) => acceptInvitation(db, request, input));

// For an invitee already signed in as the invited email (single sign-on, or an account made since).
export const joinInvitationAction = publicAction(z.strictObject({ token: inviteTokenSchema }), async ({ ctx }, input) => {
  if (!ctx) throw new AppError("unauthenticated", "Sign in as the invited email first, then open this link again.");
  return acceptInvitationAsUser(ctx, input.token);
});
