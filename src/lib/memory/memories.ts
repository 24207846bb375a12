// Agent memories: stored in Postgres, searched with its full-text ranking, and copied into KV so that reading
// one by id usually does not touch Postgres. Shared by /v1/memories and the legacy /api/memory adapter.
import { and, arrayContains, desc, eq, gt, isNull, or, type SQL, sql } from "drizzle-orm";
import type { Context } from "hono";
import { z } from "zod";
import { db, type HttpDb } from "../db/client";
import { memories } from "../db/schema";
import { Metadata } from "../identity/account";
import { decodeCursor, encodeCursor } from "../platform/cursor";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { KvJsonCache } from "../platform/kv-json-cache";
import { logger } from "../platform/log";
import { hasControlCharacters, MEMORY_CACHE_PREFIX } from "./keys";

export const MEMORY_LIMITS = {
  typeMaxLength: 64,
  /** Characters. Postgres keeps word positions up to 16,383, so a longer text would rank by its start only. */
  contentMaxLength: 32_768,
  maxTags: 32,
  tagMaxLength: 64,
  /** A search query: long enough for a sentence or two, far from a pasted document. */
  queryMaxLength: 256,
  searchMaxLimit: 100,
  searchDefaultLimit: 10,
  ttlMaxSeconds: 10 * 365 * 86_400,
} as const;

const MemoryType = z
  .string()
  .min(1)
  .max(MEMORY_LIMITS.typeMaxLength)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]*$/, "letters, digits, '.', '_', ':' and '-', starting with a letter or digit");

const Tag = z
  .string()
  .trim()
  .min(1)
  .max(MEMORY_LIMITS.tagMaxLength)
  .refine((t) => !hasControlCharacters(t), "a tag cannot contain control characters");

const Tags = z
  .array(Tag)
  .max(MEMORY_LIMITS.maxTags)
  .transform((tags) => [...new Set(tags)]);

export const NewMemory = z
  .object({
    type: MemoryType,
    content: z.string().min(1).max(MEMORY_LIMITS.contentMaxLength),
    tags: Tags.default([]),
    metadata: Metadata.optional(),
    ttl: z.number().int().min(1).max(MEMORY_LIMITS.ttlMaxSeconds).optional().describe("Seconds until it expires"),
  })
  .strict();
export type NewMemory = z.output<typeof NewMemory>;

export const MemorySchema = z.object({
  id: z.string(),
  userId: z.string(),
  type: z.string(),
  content: z.string(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  createdAt: z.string().describe("RFC 3339"),
  expiresAt: z.string().nullable(),
  accessCount: z.number().describe("Search hits so far; a copy read from the cache may be a few minutes behind"),
  lastAccessedAt: z.string().nullable(),
});
export type Memory = z.infer<typeof MemorySchema>;

export const SearchQuery = z.object({
  q: z.string().trim().min(1).max(MEMORY_LIMITS.queryMaxLength).describe("Words to find (web-search syntax)"),
  type: MemoryType.optional(),
  tags: z
    .string()
    .max(MEMORY_LIMITS.maxTags * (MEMORY_LIMITS.tagMaxLength + 1))
    .transform((s) => s.split(",").filter((t) => t.trim() !== ""))
    .pipe(Tags)
    .optional()
    .describe("Comma-separated; a memory must carry all of them"),
  limit: z.coerce.number().int().min(1).max(MEMORY_LIMITS.searchMaxLimit).default(MEMORY_LIMITS.searchDefaultLimit),
  cursor: z.string().max(200).optional(),
});
export type SearchQuery = z.output<typeof SearchQuery>;

export const SearchHitSchema = MemorySchema.extend({ rank: z.number() });
export type SearchHit = z.infer<typeof SearchHitSchema>;
export interface SearchPage {
  memories: SearchHit[];
  nextCursor: string | null;
}

const columns = {
  id: memories.id,
  userId: memories.userId,
  type: memories.type,
  content: memories.content,
  tags: memories.tags,
  metadata: memories.metadata,
  createdAt: memories.createdAt,
  expiresAt: memories.expiresAt,
  accessCount: memories.accessCount,
  lastAccessedAt: memories.lastAccessedAt,
};
type Row = Omit<typeof memories.$inferSelect, "search">;

function toMemory(row: Row): Memory {
  return {
    id: row.id,
    userId: row.userId,
    type: row.type,
    content: row.content,
    tags: row.tags,
    metadata: row.metadata,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    accessCount: row.accessCount,
    lastAccessedAt: row.lastAccessedAt?.toISOString() ?? null,
  };
}

const live = () => or(isNull(memories.expiresAt), gt(memories.expiresAt, sql`now()`)) as SQL;

const cacheOf = (c: Context<AppEnv>) => new KvJsonCache(c.env.MEMORY, MEMORY_CACHE_PREFIX, MemorySchema);

/**
 * The cache is an optimisation: a failed KV write or delete is logged, never turned into a failed request (the
 * row is already written or gone). A copy left behind lives at most MEMORY_CACHE_TTL_SECONDS.
 */
function cacheQuietly(c: Context<AppEnv>, what: string, id: string, work: Promise<void>): Promise<void> {
  return work.catch((err: unknown) => {
    logger(c).error("memory cache write failed", { what, id, error: err instanceof Error ? err.message : String(err) });
  });
}

const notFound = () => new ApiError("not_found", "Memory not found");

/** Stores a memory and writes it through to the KV cache before answering, so the next read is a cache hit. */
export async function createMemory(c: Context<AppEnv>, userId: string, input: NewMemory): Promise<Memory> {
  const [row] = await db(c.env)
    .insert(memories)
    .values({
      userId,
      type: input.type,
      content: input.content,
      tags: input.tags,
      metadata: input.metadata ?? {},
      expiresAt: input.ttl === undefined ? null : sql`now() + make_interval(secs => ${input.ttl})`,
    })
    .returning(columns);
  if (!row) throw new Error("INSERT … RETURNING returned no row");
  const memory = toMemory(row);
  const ttl = c.get("config").memoryCacheTtlSeconds;
  await cacheQuietly(c, "write-through", memory.id, cacheOf(c).put(memory.id, memory, ttl, row.expiresAt));
  return memory;
}

/**
 * One memory of the caller's, from the KV cache when it is there (no Postgres), else from Postgres (then
 * cached). Another user's memory answers 404 like a missing one. Reading by id does not count as an access.
 */
export async function getMemory(c: Context<AppEnv>, userId: string, id: string): Promise<Memory> {
  const cache = cacheOf(c);
  const cached = await cache.get(id);
  if (cached) {
    const expired = cached.expiresAt !== null && Date.parse(cached.expiresAt) <= Date.now();
    if (cached.userId !== userId || expired) throw notFound();
    return cached;
  }
  const [row] = await db(c.env)
    .select(columns)
    .from(memories)
    .where(and(eq(memories.id, id), eq(memories.userId, userId), live()));
  if (!row) throw notFound();
  const memory = toMemory(row);
  const ttl = c.get("config").memoryCacheTtlSeconds;
  c.executionCtx.waitUntil(cacheQuietly(c, "read-through", id, cache.put(id, memory, ttl, row.expiresAt)));
  return memory;
}

/** Deletes from Postgres, then from the cache (other locations may still serve their copy for up to a minute). */
export async function deleteMemory(c: Context<AppEnv>, userId: string, id: string): Promise<void> {
  const deleted = await db(c.env)
    .delete(memories)
    .where(and(eq(memories.id, id), eq(memories.userId, userId)))
    .returning({ id: memories.id });
  if (deleted.length === 0) throw notFound();
  await cacheQuietly(c, "invalidate", id, cacheOf(c).delete(id));
}

const SearchCursor = z.tuple([z.number(), z.iso.datetime(), z.uuid()]);

/**
 * Full-text search over the caller's live memories: ts_rank (tags weigh A, content B) best first, then newest,
 * keyset-paginated. One statement finds the page and adds one to each hit's access_count (a CTE feeding an
 * UPDATE … FROM), so a search is one round trip.
 */
export async function searchMemories(database: HttpDb, userId: string, query: SearchQuery): Promise<SearchPage> {
  const tsquery = sql`websearch_to_tsquery('english'::regconfig, ${query.q})`;
  const rank = sql<number>`ts_rank(${memories.search}, ${tsquery})`;
  const conditions: SQL[] = [eq(memories.userId, userId), sql`${memories.search} @@ ${tsquery}`, live()];
  if (query.type) conditions.push(eq(memories.type, query.type));
  if (query.tags?.length) conditions.push(arrayContains(memories.tags, query.tags));
  if (query.cursor) {
    const [afterRank, afterCreated, afterId] = decodeCursor(query.cursor, SearchCursor);
    // All three sort descending, so "after" is a smaller row value. The rank goes back as the float4 it was.
    conditions.push(
      sql`(${rank}, ${memories.createdAt}, ${memories.id}) < (${String(afterRank)}::real, ${afterCreated}::timestamptz, ${afterId}::uuid)`,
    );
  }
  // One row past the page tells whether another page exists; it is found but not counted as an access.
  // ts_rank is computed once per matching row: the sort names its output column instead of repeating it.
  const hits = database.$with("hits").as(
    database
      .select({ hitId: memories.id, hitCreatedAt: memories.createdAt, rank: rank.as("rank") })
      .from(memories)
      .where(and(...conditions))
      .orderBy(sql`"rank" desc`, desc(memories.createdAt), desc(memories.id))
      .limit(query.limit + 1),
  );
  const page = database
    .$with("page")
    .as(
      database
        .select({ pageId: hits.hitId, pageRank: hits.rank })
        .from(hits)
        .orderBy(desc(hits.rank), desc(hits.hitCreatedAt), desc(hits.hitId))
        .limit(query.limit),
    );
  const rows = await database
    .with(hits, page)
    .update(memories)
    .set({ accessCount: sql`${memories.accessCount} + 1`, lastAccessedAt: sql`now()` })
    .from(page)
    .where(eq(memories.id, page.pageId))
    .returning({
      ...columns,
      rank: page.pageRank,
      more: sql<boolean>`(select count(*) from ${hits}) > ${query.limit}`,
    });
  // UPDATE … RETURNING has no order: sort again, as the page was chosen.
  const found = rows
    .map((r) => ({ ...toMemory(r), rank: Number(r.rank) }))
    .sort((a, b) => b.rank - a.rank || b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  const last = found.at(-1);
  return {
    memories: found,
    nextCursor: rows[0]?.more && last ? encodeCursor([last.rank, last.createdAt, last.id]) : null,
  };
}

/**
 * The caller's newest live memories and how many live ones they have in all. Not an access: list entries'
 * accessCount is unchanged.
 */
export async function listRecentMemories(
  database: HttpDb,
  userId: string,
  limit: number,
): Promise<{ memories: Memory[]; total: number }> {
  const mine = and(eq(memories.userId, userId), live());
  // One batch: one HTTP request instead of two in parallel (docs/benchmarks.md "Round trips per route (issue #16)").
  const [rows, [counted]] = await database.batch([
    database
      .select(columns)
      .from(memories)
      .where(mine)
      .orderBy(desc(memories.createdAt), desc(memories.id))
      .limit(limit),
    database.select({ n: sql<number>`count(*)::int` }).from(memories).where(mine),
  ]);
  return { memories: rows.map(toMemory), total: counted?.n ?? 0 };
}
