// Who is acting: a signed-in user, an API token (acting as its user in one team), or the system.
import type { Role } from "@/db/schema";

export type ActorMembership = { teamId: string; teamSlug: string; teamName: string; role: Role };

type ActorBase = {
  userId: string;
  email: string;
  name: string;
  isAdmin: boolean;
  /** Read from the database on every request, never from the session cookie. */
  memberships: ActorMembership[];
};

export type UserActor = ActorBase & {
  kind: "user";
  /** The browser session acting (a page or server action); absent for a user loaded outside a session. */
  sessionId?: string;
};
export type TokenActor = ActorBase & { kind: "token"; tokenId: string; tokenTeamId: string; tokenTeamSlug: string };
export type SystemActor = {
  kind: "system";
  userId: null;
  email: "system";
  name: "Cairn";
  isAdmin: true;
  memberships: ActorMembership[];
};
/** An unauthenticated caller, e.g. a failed sign-in; holds no permission. */
export type AnonymousActor = {
  kind: "anonymous";
  userId: null;
  email: "anonymous";
  name: "anonymous";
  isAdmin: false;
  memberships: ActorMembership[];
};
export type Actor = UserActor | TokenActor | SystemActor | AnonymousActor;

export const SYSTEM_ACTOR: SystemActor = {
  kind: "system", userId: null, email: "system", name: "Cairn", isAdmin: true, memberships: [],
};

export const ANONYMOUS_ACTOR: AnonymousActor = {
  kind: "anonymous", userId: null, email: "anonymous", name: "anonymous", isAdmin: false, memberships: [],
};

export function actorLabel(actor: Actor): string {
  return actor.kind === "token" ? `${actor.email} (token)` : actor.email;
}
