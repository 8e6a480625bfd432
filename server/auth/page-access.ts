// Page-level access checks that render the 403 page (never a redirect elsewhere).
import { forbidden } from "next/navigation";
import type { UserActor } from "./actor";

/** Pages for team members: anyone with a membership, and platform admins. */
export function requireMember(actor: UserActor): void {
  if (!actor.isAdmin && actor.memberships.length === 0) forbidden();
}

export function requireAdmin(actor: UserActor): void {
  if (!actor.isAdmin) forbidden();
}
