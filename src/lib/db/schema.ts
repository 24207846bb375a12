// The one drizzle schema: the Worker, the dev bridge, the GPU worker and scripts all import it.
import { sql } from "drizzle-orm";
import {
  bigint,
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
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
 * `passwordHash` never leaves src/lib/identity/users.ts: every query that returns users selects `publicUserColumns`.
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
  (t) => [index("sessions_user_idx").on(t.userId), index("sessions_expires_idx").on(t.expiresAt)],
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
 * Agent memories (src/lib/memory/memories.ts). `search` is generated: the tags at weight A, the content at B, so a
 * tag match outranks a content match in ts_rank. 'english' stems ("cats" finds "cat") and drops stop words.
 * memory_tags_text is an IMMUTABLE wrapper over array_to_string (migration 0003), which a generated column
 * may call. A row past `expires_at` is never returned; the hourly cron deletes it (src/lib/db/housekeeping.ts).
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
    // The hourly purge's lookup; most memories never expire, so only those that do are indexed.
    index("memories_expires_idx").on(t.expiresAt).where(sql`${t.expiresAt} IS NOT NULL`),
  ],
);

/**
 * Files (src/lib/files/): the bytes live in R2 under `files/<userId>/<sha256>` (one object per distinct content
 * per user); this row is the file's name, place, tags and search index. `search` is generated: the name's words
 * at weight A, the tags at B, the folders at C and the extracted text at D, in the `files_search` configuration
 * (English stemming after unaccent, migration 0005). `name_key`/`path_key` are the lower-cased, unaccented name
 * and path, written by the application, with trigram indexes for typos and substrings. `tags` is generated too
 * (rule tags and user tags together, deduplicated), so the two kinds can never drift apart from their union.
 */
export const files = pgTable(
  "files",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    path: text("path").notNull(),
    name: text("name").notNull(),
    extension: text("extension").notNull().default(""),
    mediaType: text("media_type").notNull(),
    /** The type the content's magic bytes gave, if any: kept so a rename can recompute the media type. */
    magicType: text("magic_type"),
    category: text("category").notNull(),
    size: bigint("size", { mode: "number" }).notNull(),
    sha256: text("sha256").notNull(),
    description: text("description").notNull().default(""),
    ruleTags: text("rule_tags").array().notNull().default(sql`'{}'::text[]`),
    userTags: text("user_tags").array().notNull().default(sql`'{}'::text[]`),
    tags: text("tags").array().notNull().generatedAlwaysAs(sql`file_tags_union("rule_tags", "user_tags")`),
    nameKey: text("name_key").notNull(),
    pathKey: text("path_key").notNull(),
    nameWords: text("name_words").notNull(),
    pathWords: text("path_words").notNull(),
    /** The extracted text, capped at FILES_INDEX_MAX_BYTES; null when the file is not indexed as text. */
    content: text("content"),
    /** indexed | queued | binary | invalid_utf8 | empty | failed (src/lib/files/text.ts). */
    textStatus: text("text_status").notNull(),
    contentTruncated: boolean("content_truncated").notNull().default(false),
    indexedAt: timestamp("indexed_at", { withTimezone: true, precision: 3 }),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    search: tsvector("search")
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('files_search'::regconfig, "name_words"), 'A') || setweight(to_tsvector('files_search'::regconfig, memory_tags_text("rule_tags") || ' ' || memory_tags_text("user_tags")), 'B') || setweight(to_tsvector('files_search'::regconfig, "path_words"), 'C') || setweight(to_tsvector('files_search'::regconfig, coalesce("content", '')), 'D')`,
      ),
    /** The name's words (A) and the tags (B) alone, with their own small GIN index (migration 0009). */
    nameSearch: tsvector("name_search")
      .notNull()
      .generatedAlwaysAs(
        sql`setweight(to_tsvector('files_search'::regconfig, "name_words"), 'A') || setweight(to_tsvector('files_search'::regconfig, memory_tags_text("rule_tags") || ' ' || memory_tags_text("user_tags")), 'B')`,
      ),
  },
  (t) => [
    uniqueIndex("files_user_path_key").on(t.userId, t.path),
    index("files_user_updated_idx").on(t.userId, t.updatedAt, t.id),
    index("files_user_size_idx").on(t.userId, t.size, t.id),
    index("files_user_sha_idx").on(t.userId, t.sha256),
    index("files_search_idx").using("gin", t.search),
    index("files_tags_idx").using("gin", t.tags),
    index("files_name_trgm_idx").using("gin", t.nameKey.op("gin_trgm_ops")),
    index("files_path_trgm_idx").using("gin", t.pathKey.op("gin_trgm_ops")),
    index("files_name_search_idx").using("gin", t.nameSearch),
    index("files_user_category_idx").on(t.userId, t.category, t.updatedAt, t.id),
    index("files_user_extension_idx").on(t.userId, t.extension, t.updatedAt, t.id),
  ],
);

/**
 * Each user's vocabulary: the distinct words of their files' names, paths, tags and text. A misspelt query word is
 * corrected to its nearest words here (trigram candidates, then an edit-distance check), so typo tolerance covers
 * every field, not just names. Words of deleted files stay until the user's vocabulary is rebuilt: they cost a
 * little space and never produce a hit on their own.
 */
export const fileTerms = pgTable(
  "file_terms",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    term: text("term").notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.term] }),
    // Typo candidates come from the words without digits only (words.ts CORRECTABLE): numbers and identifiers
    // like "report2024" are most of a large vocabulary and are never corrected (migration 0016).
    index("file_terms_word_trgm_idx").using("gin", t.term.op("gin_trgm_ops")).where(sql`${t.term} !~ '[0-9]'`),
    index("file_terms_prefix_idx").on(t.userId, t.term.op("text_pattern_ops")),
  ],
);

/**
 * One row per LLM call (src/lib/llm/usage.ts): who (a user's id, or a service credential's `svc_…` id as both user
 * and credential), which alias and target served it, tokens, cost from the target's price, latency, cache hit, and
 * how it ended (`ok`, `error`, `aborted` for a stream the client cut). Budgets sum today's tokens per user.
 */
export const llmUsage = pgTable(
  "llm_usage",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    completionId: text("completion_id").notNull(),
    userId: text("user_id").notNull(),
    credentialId: text("credential_id"),
    kind: text("kind").$type<"chat" | "embeddings">().notNull(),
    alias: text("alias").notNull(),
    provider: text("provider"),
    model: text("model"),
    promptTokens: integer("prompt_tokens").notNull().default(0),
    completionTokens: integer("completion_tokens").notNull().default(0),
    costUsd: doublePrecision("cost_usd").notNull().default(0),
    latencyMs: integer("latency_ms").notNull().default(0),
    cacheHit: boolean("cache_hit").notNull().default(false),
    status: text("status").$type<"ok" | "error" | "aborted">().notNull(),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index("llm_usage_user_created_idx").on(t.userId, t.createdAt),
    index("llm_usage_credential_created_idx").on(t.credentialId, t.createdAt).where(sql`${t.credentialId} IS NOT NULL`),
    index("llm_usage_completion_idx").on(t.completionId),
  ],
);

/**
 * Notifications (src/lib/notifications/, docs/notifications.md): one row per event and user. `(user_id, source,
 * event_id)` is unique, so a retried event never makes a second row; `in_inbox` is false for an event the user's
 * preferences keep out of the inbox (the row still anchors its webhook deliveries). Deleting is soft for the same
 * reason: a late retry of a deleted entry's event must not bring it back.
 */
export const notifications = pgTable(
  "notifications",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    /** "tessera" for the platform's own events, the credential id for a service, "admin" for an admin. */
    source: text("source").notNull(),
    eventId: text("event_id").notNull(),
    kind: text("kind").notNull(),
    title: text("title").notNull(),
    body: text("body").notNull().default(""),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    inInbox: boolean("in_inbox").notNull(),
    readAt: timestamp("read_at", { withTimezone: true, precision: 3 }),
    deletedAt: timestamp("deleted_at", { withTimezone: true, precision: 3 }),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("notifications_event_key").on(t.userId, t.source, t.eventId),
    index("notifications_inbox_idx")
      .on(t.userId, t.createdAt, t.id)
      .where(sql`${t.inInbox} AND ${t.deletedAt} IS NULL`),
  ],
);

/** Per user and event kind (or "*" for every kind without its own row): which channels deliver it. */
export const notificationPreferences = pgTable(
  "notification_preferences",
  {
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    kind: text("kind").notNull(),
    inbox: boolean("inbox").notNull().default(true),
    live: boolean("live").notNull().default(true),
    webhook: boolean("webhook").notNull().default(true),
    muted: boolean("muted").notNull().default(false),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.kind] })],
);

/**
 * An outgoing webhook of a user, or of a service credential (its own events; exactly one of the two owners):
 * signed with `secret` (`whsec_…`, Standard Webhooks); `kinds` null means all.
 */
export const webhookEndpoints = pgTable(
  "webhook_endpoints",
  {
    id: text("id").primaryKey(),
    userId: uuid("user_id").references(() => users.id, { onDelete: "cascade" }),
    credentialId: text("credential_id"),
    url: text("url").notNull(),
    secret: text("secret").notNull(),
    kinds: text("kinds").array(),
    active: boolean("active").notNull().default(true),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [
    index("webhook_endpoints_user_idx").on(t.userId),
    index("webhook_endpoints_credential_idx").on(t.credentialId),
    check("webhook_endpoints_one_owner", sql`(${t.userId} IS NULL) <> (${t.credentialId} IS NULL)`),
  ],
);

/**
 * One notification to one endpoint. Its id is the `webhook-id` header on every attempt; `(endpoint_id,
 * notification_id)` is unique, so an event is queued for an endpoint once. pending → delivered | dead.
 */
export const webhookDeliveries = pgTable(
  "webhook_deliveries",
  {
    id: text("id").primaryKey(),
    endpointId: text("endpoint_id")
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: "cascade" }),
    notificationId: uuid("notification_id")
      .notNull()
      .references(() => notifications.id, { onDelete: "cascade" }),
    status: text("status").$type<"pending" | "delivered" | "dead">().notNull().default("pending"),
    attempts: integer("attempts").notNull().default(0),
    lastStatus: integer("last_status"),
    lastError: text("last_error"),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    deliveredAt: timestamp("delivered_at", { withTimezone: true, precision: 3 }),
  },
  (t) => [
    uniqueIndex("webhook_deliveries_once_key").on(t.endpointId, t.notificationId),
    index("webhook_deliveries_status_idx").on(t.status, t.createdAt),
  ],
);

/**
 * Product analytics (src/lib/analytics/, docs/analytics.md): events from POST /v1/events and Tessera's own
 * (job outcomes, LLM usage). The id makes a queue redelivery harmless.
 */
export const analyticsEvents = pgTable(
  "analytics_events",
  {
    id: text("id").primaryKey(),
    at: timestamp("at", { withTimezone: true, precision: 3 }).notNull(),
    name: text("name").notNull(),
    userId: text("user_id"),
    credentialId: text("credential_id"),
    value: doublePrecision("value"),
    props: jsonb("props").$type<Record<string, string | number | boolean | null>>().notNull().default({}),
  },
  (t) => [index("analytics_events_at_idx").on(t.at), index("analytics_events_user_at_idx").on(t.userId, t.at)],
);

/** Tessera's own request metrics, written in batches after the responses (src/lib/analytics/request-metrics.ts). */
export const requestMetrics = pgTable(
  "request_metrics",
  {
    id: bigint("id", { mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp("at", { withTimezone: true, precision: 3 }).notNull(),
    method: text("method").notNull(),
    route: text("route").notNull(),
    status: integer("status").notNull(),
    durationMs: doublePrecision("duration_ms").notNull(),
    userId: text("user_id"),
  },
  (t) => [index("request_metrics_at_idx").on(t.at), index("request_metrics_user_at_idx").on(t.userId, t.at)],
);

/**
 * Conversation contexts (src/lib/memory/contexts.ts, docs/memory.md "Conversation contexts"): the old
 * memory-service's `/contexts`. One row per user and conversation, replaced by each store (the old service added a
 * row each time and only ever read the newest, so older rows were dead weight).
 */
export const conversationContexts = pgTable(
  "conversation_contexts",
  {
    id: uuid("id").primaryKey().default(sql`gen_random_uuid()`),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    conversationId: text("conversation_id").notNull(),
    summary: text("summary").notNull(),
    memories: text("memories").array().notNull().default(sql`'{}'::text[]`),
    createdAt: timestamp("created_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true, precision: 3 }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex("conversation_contexts_conversation_key").on(t.userId, t.conversationId)],
);
