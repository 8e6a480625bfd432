import { z } from "zod";

export const createTokenSchema = z.strictObject({
  name: z.string().trim().min(1, "Give the token a name").max(100, "Keep the name under 100 characters"),
  team: z.string().trim().min(1, "Choose the team this token acts in"),
  expires_in_days: z.coerce
    .number({ error: "expires_in_days must be a number of days" })
    .int("expires_in_days must be a whole number of days")
    .min(1, "Tokens last at least 1 day")
    .max(365, "Tokens last at most 365 days")
    .default(30),
});
export type CreateTokenInput = z.infer<typeof createTokenSchema>;

export type TokenDto = {
  id: string;
  name: string;
  prefix: string;
  team: string;
  created_at: string;
  expires_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
};
export type CreatedTokenDto = { id: string; token: string; prefix: string; team: string; expires_at: string; name: string };
