// The one drizzle schema: the Worker, the dev bridge, the GPU worker and scripts all import it.
import { sql } from "drizzle-orm";
import {
  boolean,
  customType,
  index,
  integer,
  jsonb,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";

/**
 * One row per database, written by the first migration. Its id names this installation
 * in /health, which also proves that data survives a restart of the database.
 */
export const instance = pgTable("instance", {
  id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
  // A unique constant column keeps the table to a single row.
  singleton: boolean("singleton").notNull().default(true).unique(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * Accounts. Username and email are unique case-insensitively (indexes on lower()).
 * `passwordHash` never leaves src/lib/users.ts: every query that returns users selects `publicUserColumns`.
 */
export const users = pgTable(
  "users",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    username: text("username").notNull(),
    email: text("email").notNull(),
    passwordHash: text("password_hash").notNull(),
    active: boolean("active").notNull().default(true),
    roles: text("roles").array().notNull().default(sql`ARRAY['user']::text[]`),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    // Millisecond precision: keyset cursors carry JavaScript Dates, which have no microseconds.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("users_username_lower_key").on(sql`lower(${t.username})`),
    uniqueIndex("users_email_lower_key").on(sql`lower(${t.email})`),
    index("users_created_at_idx").on(t.createdAt, t.id),
  ],
);

/** A login: the family of refresh tokens that descend from it. Revoking it ends them all. */
export const sessions = pgTable(
  "sessions",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
    revokedReason: text("revoked_reason"),
    userAgent: text("user_agent"),
    ip: text("ip"),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

/**
 * Refresh tokens, stored only as SHA-256 hashes. Each is used once: using it marks it and issues its
 * successor, derived as HMAC(token, nonce) so that a concurrent retry within the grace window can be
 * given the same successor without the server ever storing a usable token.
 */
export const refreshTokens = pgTable(
  "refresh_tokens",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    sessionId: uuid("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    tokenHash: text("token_hash").notNull().unique(),
    nonce: text("nonce").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    usedAt: timestamp("used_at", { withTimezone: true }),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("refresh_tokens_session_idx").on(t.sessionId)],
);

/** Postgres full-text vectors; drizzle has no built-in column type for them. */
const tsvector = customType<{ data: string; driverData: string }>({ dataType: () => "tsvector" });

/**
 * Agent memories (src/lib/memories.ts). `search` is generated: the tags at weight A, the content at B, so a
 * tag match outranks a content match in ts_rank. 'english' stems ("cats" finds "cat") and drops stop words.
 * memory_tags_text is an IMMUTABLE wrapper over array_to_string (migration 0003), which a generated column
 * may call. A row past `expires_at` is never returned; the hourly cron deletes it (src/lib/housekeeping.ts).
 */
export const memories = pgTable(
  "memories",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    type: text("type").notNull(),
    content: text("content").notNull(),
    tags: text("tags").array().notNull().default(sql`'{}'::text[]`),
    metadata: jsonb("metadata").$type<Record<string, unknown>>().notNull().default({}),
    // Millisecond precision: search cursors carry JavaScript Dates.
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true, precision: 3 }),
    accessCount: integer("access_count").notNull().default(0),
    lastAccessedAt: timestamp("last_accessed_at", { withTimezone: true, precision: 3 }),
    search: tsvector("search")
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('english'::regconfig, memory_tags_text("tags")), 'A') || setweight(to_tsvector('english'::regconfig, "content"), 'B')`,
      ),
  },
  (t) => [
    index("memories_search_idx").using("gin", t.search),
    index("memories_user_created_idx").on(t.userId, t.createdAt, t.id),
  ],
);
