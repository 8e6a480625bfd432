"use server";

import { revalidatePath } from "next/cache";
import { cookies, headers } from "next/headers";
import { z } from "zod";
import { changePasswordSchema } from "@/lib/schemas/account";
import { changeMyPassword, endMySession, endOtherSessions } from "@/server/auth/account";
import { safeAction } from "@/server/auth/action";
import { deviceCookieFor } from "@/server/auth/password-sign-in";

/** The password was just proved and every device cookie of the account revoked: this browser gets a new one, issued after the revocation. */
async function renewDeviceCookie(email: string, revokedAt: Date): Promise<void> {
  const cookie = deviceCookieFor(email, await headers(), revokedAt);
  (await cookies()).set(cookie.name, cookie.value, cookie.options);
}

export const changePasswordAction = safeAction("changePasswordAction", changePasswordSchema, async (ctx, input) => {
  const { ended, devicesValidAfter } = await changeMyPassword(ctx, input);
  await renewDeviceCookie(ctx.actor.email, devicesValidAfter);
  revalidatePath("/settings/security");
  return { ended };
});

// No new device cookie here: a copied session cookie could ask for this, and must not come away with one.
export const endOtherSessionsAction = safeAction("endOtherSessionsAction", z.object({}), async (ctx) => {
  const { ended } = await endOtherSessions(ctx);
  revalidatePath("/settings/security");
  return { ended };
});

export const endSessionAction = safeAction("endSessionAction", z.string().uuid("Not a session id"), async (ctx, id) => {
  const result = await endMySession(ctx, id);
  revalidatePath("/settings/security");
  return result;
});
