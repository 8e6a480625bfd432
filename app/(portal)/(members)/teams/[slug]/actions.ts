"use server";

import { revalidatePath } from "next/cache";
import { z } from "zod";
import { protectedAliasesSchema } from "@/lib/schemas/registry";
import { addMemberSchema, quotaSchema, roleSchema } from "@/lib/schemas/teams";
import { safeAction } from "@/server/auth/action";
import { setProtectedAliases } from "@/server/registry/models";
import { revokeInvitationSchema } from "@/lib/schemas/invitations";
import { changeRole, removeMember, setQuota } from "@/server/teams/admin";
import { addOrInviteMember, revokeInvitation } from "@/server/teams/invitations";

export const saveProtectedAliases = safeAction("saveProtectedAliases", protectedAliasesSchema, async (ctx, input) => {
  const saved = await setProtectedAliases(ctx, input.protected_aliases, input.team);
  revalidatePath(`/teams/${input.team}`);
  return saved.protected_aliases;
});

const memberAction = z.strictObject({ team: z.string().min(1).max(64), user_id: z.string().uuid() });

// An email with an account is added; one without is invited, and the link is returned to show once.
export const addMemberAction = safeAction("addMemberAction", addMemberSchema.extend({ team: z.string().min(1).max(64) }), async (ctx, { team, ...input }) => {
  const result = await addOrInviteMember(ctx, team, input);
  revalidatePath(`/teams/${team}`);
  return result.kind === "member"
    ? { kind: "member" as const, email: result.member.email }
    : { kind: "invitation" as const, email: result.invitation.email, invite_path: result.invite_path, expires_at: result.invitation.expires_at };
});

export const revokeInvitationAction = safeAction("revokeInvitationAction", revokeInvitationSchema, async (ctx, input) => {
  await revokeInvitation(ctx, input.team, input.id);
  revalidatePath(`/teams/${input.team}`);
  return input.id;
});

export const changeRoleAction = safeAction("changeRoleAction", memberAction.extend({ role: roleSchema }), async (ctx, input) => {
  await changeRole(ctx, input.team, input.user_id, input.role);
  revalidatePath(`/teams/${input.team}`);
  return input.role;
});

export const removeMemberAction = safeAction("removeMemberAction", memberAction, async (ctx, input) => {
  await removeMember(ctx, input.team, input.user_id);
  revalidatePath(`/teams/${input.team}`);
  return input.user_id;
});

export const saveQuotaAction = safeAction("saveQuotaAction", z.strictObject({ team: z.string().min(1).max(64), quota: quotaSchema }), async (ctx, input) => {
  const quota = await setQuota(ctx, input.team, input.quota);
  revalidatePath(`/teams/${input.team}`);
  return quota;
});
