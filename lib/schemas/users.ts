import { z } from "zod";

/** The one password rule: long enough to resist guessing, short enough to hash quickly. */
export const PASSWORD_MIN_LENGTH = 10;
export const passwordSchema = z
  .string({ error: "Choose a password" })
  .min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(200, "Use at most 200 characters")
  .refine((p) => p.trim().length === p.length || p.trim().length >= PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters besides spaces`);

/** A user as the admin's users list shows them. */
export type UserAdminDto = {
  id: string;
  email: string;
  name: string;
  is_admin: boolean;
  teams: { slug: string; role: string }[];
  created_at: string;
  last_active_at: string | null;
  deactivated_at: string | null;
  sign_in: { password: boolean; sso: boolean };
};

export const setUserActiveSchema = z.strictObject({ user_id: z.string().uuid("Pick a user"), active: z.boolean() });
