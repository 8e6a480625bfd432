import { z } from "zod";
import { passwordSchema } from "./users";

/** One of the signed-in user's browser sessions (Settings → Security). */
export type AccountSessionDto = {
  id: string;
  created_at: string;
  expires_at: string;
  user_agent: string | null;
  ip: string | null;
  /** The session of the browser asking. */
  current: boolean;
};

export const changePasswordSchema = z
  .object({
    current_password: z.string({ error: "Enter your current password" }).min(1, "Enter your current password").max(1024, "At most 1024 characters"),
    new_password: passwordSchema,
    confirm_password: z.string({ error: "Repeat the new password" }),
  })
  .refine((v) => v.confirm_password === v.new_password, { path: ["confirm_password"], message: "Does not match the new password" });
export type ChangePasswordInput = z.infer<typeof changePasswordSchema>;
