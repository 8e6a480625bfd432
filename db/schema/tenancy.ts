// Users, teams (tenants) and memberships: who may act in which team, with which role.
import { sql } from "drizzle-orm";
import { boolean, check, index, integer, pgTable, primaryKey, text, timestamp, uuid } from "drizzle-orm/pg-core";

export const ROLES = ["data_scientist", "ml_engineer", "team_lead"] as const;
export type Role = (typeof ROLES)[number];

export const users = pgTable("users", {
  id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
  email: text("email").notNull().unique(),
  name: text("name").notNull(),
  passwordHash: text("password_hash"),
  isAdmin: boolean("is_admin").notNull().default(false),
  oidcSubject: text("oidc_subject").unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  lastActiveAt: timestamp("last_active_at", { withTimezone: true }),
  /** Set by an admin: the user cannot sign in, and their sessions and tokens stop working. */
  deactivatedAt: timestamp("deactivated_at", { withTimezone: true }),
  /** Device cookies issued before this no longer count as a known device (password change, "sign out everywhere"). */
  devicesValidAfter: timestamp("devices_valid_after", { withTimezone: true }),
  /**
   * False for an account made by accepting an invitation: the link went through the inviter, so nothing proved
   * the person owns the email. Such an account is invited, never added directly, to another team, and single
   * sign-on with that verified email takes it over (password, sessions and tokens are dropped).
   */
  emailVerified: boolean("email_verified").notNull().default(true),
});

export const teams = pgTable("teams", {
  id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
  slug: text("slug").notNull().unique(),
  name: text("name").notNull(),
  namespace: text("namespace").notNull().unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  archivedAt: timestamp("archived_at", { withTimezone: true }),
});

export const memberships = pgTable(
  "memberships",
  {
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    role: text("role").$type<Role>().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.teamId, t.userId] }),
    index("memberships_user_idx").on(t.userId),
    check("memberships_role_check", sql`${t.role} in ('data_scientist', 'ml_engineer', 'team_lead')`),
  ],
);

// Failed sign-ins per key ("pair:<email>|<ip>", "ip:<addr>" or "email:<addr>"), for sign-in backoff: the
// count restarts once the last failure is older than the window.
export const loginFailures = pgTable(
  "login_failures",
  {
    key: text("key").primaryKey(),
    failures: integer("failures").notNull().default(0),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull().defaultNow(),
    lastFailureAt: timestamp("last_failure_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("login_failures_last_failure_idx").on(t.lastFailureAt)],
);

// Browser sessions: the session JWT names one row (its `sid`); sign-out revokes it, so a copied cookie
// stops working server-side. Rows past `expires_at` are pruned at sign-in.
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    /** The browser and address that signed in, shown in the user's list of sessions. */
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
);

// Invitations to join a team, for an email without an account: a one-time link (only its SHA-256 hash is
// kept) that lets the invitee set a password; accepting creates the user and the membership once.
export const invitations = pgTable(
  "invitations",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    teamId: uuid("team_id").notNull().references(() => teams.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: text("role").$type<Role>().notNull(),
    tokenHash: text("token_hash").notNull().unique(),
    invitedBy: uuid("invited_by").references(() => users.id, { onDelete: "set null" }),
    invitedByEmail: text("invited_by_email").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    acceptedAt: timestamp("accepted_at", { withTimezone: true }),
    acceptedUserId: uuid("accepted_user_id").references(() => users.id, { onDelete: "set null" }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [
    index("invitations_team_idx").on(t.teamId),
    check("invitations_role_check", sql`${t.role} in ('data_scientist', 'ml_engineer', 'team_lead')`),
  ],
);
