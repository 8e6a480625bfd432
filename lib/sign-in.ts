/** What the login form's server action answers after a refusal: the message, and the email as it was typed. */
export type SignInState = { error?: string; email?: string };
