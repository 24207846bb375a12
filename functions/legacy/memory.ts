// The old memory services' routes and shapes over the same implementation as /v1/memories (docs/legacy.md):
// /api/memory (the simple memory service) and /api/memories (go-services' memory-service, behind the old gateway).
// Their bugs are not kept: identity comes from the token (a client's X-User-ID or user_id is ignored).
import { z } from "zod";
import { db } from "../../src/lib/db/client";
import { principal } from "../../src/lib/identity/auth";
import {
  ConversationContext,
  ConversationId,
  latestContext,
  NewContext,
  storeContext,
} from "../../src/lib/memory/contexts";
import {
  createMemory,
  deleteMemory,
  getMemory,
  listRecentMemories,
  MEMORY_LIMITS,
  type Memory,
  NewMemory,
  SearchQuery,
  searchMemories,
} from "../../src/lib/memory/memories";
import { ApiError } from "../../src/lib/platform/errors";
import { healthReport } from "../../src/lib/platform/health";
import { ApiRouter } from "../../src/lib/platform/router";

const LegacyMemory = z.object({
  id: z.string(),
  user_id: z.string(),
  type: z.string(),
  content: z.string(),
  tags: z.array(z.string()),
  metadata: z.record(z.string(), z.unknown()),
  created_at: z.string(),
  access_count: z.number(),
});

const legacy = (m: Memory): z.infer<typeof LegacyMemory> => ({
  id: m.id,
  user_id: m.userId,
  type: m.type,
  content: m.content,
  tags: m.tags,
  metadata: m.metadata,
  created_at: m.createdAt,
  access_count: m.accessCount,
});

/** memory-service's Memory: it also had updated_at and last_access (Tessera's memories never change once stored). */
const ServiceMemory = LegacyMemory.extend({ updated_at: z.string(), last_access: z.string().nullable() });

const serviceMemory = (m: Memory): z.infer<typeof ServiceMemory> => ({
  ...legacy(m),
  updated_at: m.createdAt,
  last_access: m.lastAccessedAt,
});

/** memory-service stored memories without a type; Tessera needs one, so a typeless memory gets this one. */
const LEGACY_DEFAULT_MEMORY_TYPE = "memory";
const LEGACY_SEARCH_DEFAULT_LIMIT = 20;

/** Go's encoder sends every field of its struct: "" for an unset type, null for unset tags and metadata. */
const goZero = <T extends z.ZodType>(schema: T, zero: unknown) =>
  z.preprocess((v) => (v === null || v === "" ? zero : v), schema);

const ServiceNewMemory = NewMemory.omit({ ttl: true })
  .extend({
    type: goZero(NewMemory.shape.type, LEGACY_DEFAULT_MEMORY_TYPE).default(LEGACY_DEFAULT_MEMORY_TYPE),
    tags: goZero(NewMemory.shape.tags, undefined),
    metadata: goZero(NewMemory.shape.metadata, undefined),
  })
  .strip();

const ServiceSearch = z
  .object({
    query: SearchQuery.shape.q,
    type: goZero(SearchQuery.shape.type, undefined),
    tags: goZero(NewMemory.shape.tags, undefined),
    limit: z.number().int().min(1).max(MEMORY_LIMITS.searchMaxLimit).default(LEGACY_SEARCH_DEFAULT_LIMIT),
    offset: z.literal(0).default(0).describe("Only 0: Tessera pages by cursor (/v1/memories/search)"),
  })
  .strip();

const LEGACY_LIST_DEFAULT_LIMIT = 20;

const LegacyServiceHealth = z.object({
  status: z.enum(["healthy", "unhealthy"]),
  services: z.record(z.string(), z.boolean()),
  timestamp: z.number().describe("Unix seconds"),
});

/** Both old list routes: the caller's newest memories, `limit` of them. */
const ListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(MEMORY_LIMITS.searchMaxLimit).default(LEGACY_LIST_DEFAULT_LIMIT),
});
const LIST_DESCRIPTION = `\`limit\` 1 to ${MEMORY_LIMITS.searchMaxLimit}, default ${LEGACY_LIST_DEFAULT_LIMIT}; \`total\` counts all your live memories.`;

export const legacyMemoryService = new ApiRouter("legacy memory")
  .route(
    {
      method: "get",
      path: "/",
      auth: "user",
      summary: "Legacy (old gateway): your newest memories → {memories, total}",
      description: LIST_DESCRIPTION,
      query: ListQuery,
      responses: {
        200: {
          description: "Newest first",
          schema: z.object({ memories: z.array(LegacyMemory), total: z.number() }),
        },
      },
    },
    async (c, { query }) => {
      const page = await listRecentMemories(db(c.env), principal(c).sub, query.limit);
      return c.json({ memories: page.memories.map(legacy), total: page.total });
    },
  )
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Legacy (old gateway): store a memory → {success, id}",
      description: `The old gateway's \`{content, type}\`; \`type\` may be empty (stored as \`${LEGACY_DEFAULT_MEMORY_TYPE}\`).`,
      body: ServiceNewMemory,
      responses: {
        200: { description: "Stored", schema: z.object({ success: z.literal(true), id: z.string() }) },
      },
    },
    async (c, { body }) => c.json({ success: true as const, id: (await createMemory(c, principal(c).sub, body)).id }),
  )
  .route(
    {
      method: "post",
      path: "/memories",
      auth: "user",
      summary: 'Legacy: store a memory → {status:"stored", memory}',
      // The old clients sent no ttl, and a stray field from them should not fail the call.
      body: NewMemory.omit({ ttl: true }).strip(),
      responses: {
        200: { description: "Stored", schema: z.object({ status: z.literal("stored"), memory: LegacyMemory }) },
      },
    },
    async (c, { body }) =>
      c.json({ status: "stored" as const, memory: legacy(await createMemory(c, principal(c).sub, body)) }),
  )
  .route(
    {
      method: "get",
      path: "/memories/search",
      auth: "user",
      summary: "Legacy: search → {memories, count, query}",
      description: `\`q\` is required (1 to ${MEMORY_LIMITS.queryMaxLength} characters); \`limit\` defaults to 10.`,
      query: SearchQuery.pick({ q: true, limit: true }),
      responses: {
        200: {
          description: "Hits, most relevant first",
          schema: z.object({ memories: z.array(LegacyMemory), count: z.number(), query: z.string() }),
        },
      },
    },
    async (c, { query }) => {
      const page = await searchMemories(db(c.env), principal(c).sub, query);
      return c.json({ memories: page.memories.map(legacy), count: page.memories.length, query: query.q });
    },
  );

/** Any id the old service might have been asked for (it took any string); one that is not a UUID is simply not found. */
const IdParams = z.object({ id: z.string().min(1).max(255) });
const isUuid = (id: string) => z.uuid().safeParse(id).success;
const memoryNotFound = () => new ApiError("not_found", "Memory not found");

export const legacyMemoriesService = new ApiRouter("legacy memories")
  .route(
    {
      method: "get",
      path: "/",
      auth: "user",
      summary: "Legacy (memory-service's README): your newest memories → {memories, count, total}",
      description: LIST_DESCRIPTION,
      query: ListQuery,
      responses: {
        200: {
          description: "Newest first",
          schema: z.object({ memories: z.array(ServiceMemory), count: z.number(), total: z.number() }),
        },
      },
    },
    async (c, { query }) => {
      const page = await listRecentMemories(db(c.env), principal(c).sub, query.limit);
      return c.json({ memories: page.memories.map(serviceMemory), count: page.memories.length, total: page.total });
    },
  )
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Legacy (memory-service): store a memory → the memory",
      description: `\`type\` is optional (default \`${LEGACY_DEFAULT_MEMORY_TYPE}\`); \`user_id\` and \`id\` in the body are ignored.`,
      body: ServiceNewMemory,
      responses: { 200: { description: "Stored", schema: ServiceMemory } },
    },
    async (c, { body }) => c.json(serviceMemory(await createMemory(c, principal(c).sub, body))),
  )
  .route(
    {
      method: "post",
      path: "/search",
      auth: "user",
      summary: "Legacy (memory-service): search → {memories, count, query}",
      description:
        `\`query\` is required (1 to ${MEMORY_LIMITS.queryMaxLength} characters); \`limit\` defaults to ` +
        `${LEGACY_SEARCH_DEFAULT_LIMIT}; \`tags\` must all be present; \`offset\` can only be 0.`,
      body: ServiceSearch,
      responses: {
        200: {
          description: "Hits, most relevant first",
          schema: z.object({
            memories: z.array(ServiceMemory),
            count: z.number(),
            query: ServiceSearch.extend({ user_id: z.string() }),
          }),
        },
      },
    },
    async (c, { body }) => {
      const userId = principal(c).sub;
      const page = await searchMemories(db(c.env), userId, {
        q: body.query,
        type: body.type,
        tags: body.tags.length ? body.tags : undefined,
        limit: body.limit,
      });
      return c.json({
        memories: page.memories.map(serviceMemory),
        count: page.memories.length,
        query: { ...body, user_id: userId },
      });
    },
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: "user",
      summary: "Legacy (memory-service): one memory",
      params: IdParams,
      responses: { 200: { description: "The memory", schema: ServiceMemory } },
    },
    async (c, { params }) => {
      if (!isUuid(params.id)) throw memoryNotFound();
      return c.json(serviceMemory(await getMemory(c, principal(c).sub, params.id)));
    },
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: "user",
      summary: "Legacy (memory-service): forget a memory",
      description:
        "204 whether or not there was such a memory of the caller's, as memory-service answered (a delete is " +
        "idempotent, and another user's memory is untouched and indistinguishable from a missing one).",
      params: IdParams,
      responses: { 204: { description: "Deleted" } },
    },
    async (c, { params }) => {
      if (isUuid(params.id)) {
        await deleteMemory(c, principal(c).sub, params.id).catch((err: unknown) => {
          if (!(err instanceof ApiError && err.code === "not_found")) throw err;
        });
      }
      return c.body(null, 204);
    },
  );

/** memory-service's conversation contexts: at /api/context (the old gateway's prefix) and /memory-service/contexts. */
export const legacyContextsService = new ApiRouter("legacy contexts")
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Legacy (memory-service): store a conversation's context → the context",
      description:
        "Replaces the caller's earlier context for the same `conversation_id` (a new `id`). `user_id`, `id` and dates " +
        "in the body are ignored; `memories` null means none.",
      body: NewContext,
      responses: { 200: { description: "Stored", schema: ConversationContext } },
    },
    async (c, { body }) => c.json(await storeContext(db(c.env), principal(c).sub, body)),
  )
  .route(
    {
      method: "get",
      path: "/:conversation_id",
      auth: "user",
      summary: "Legacy (memory-service): the latest context of one of your conversations",
      params: z.object({ conversation_id: ConversationId }),
      responses: { 200: { description: "The context", schema: ConversationContext } },
    },
    async (c, { params }) => c.json(await latestContext(db(c.env), principal(c).sub, params.conversation_id)),
  );

/**
 * memory-service's `GET /health` at /memory-service/health. Its `redis` and `weaviate` keys are kept and report
 * what stands in for them here: the KV cache and Postgres full-text search (docs/legacy.md).
 */
export const memoryServiceHealth = new ApiRouter("legacy memory-service").route(
  {
    method: "get",
    path: "/health",
    auth: "public",
    rateLimit: false,
    summary: "Legacy (memory-service): health with each store as a boolean and a unix timestamp",
    responses: {
      200: { description: "Healthy", schema: LegacyServiceHealth },
      503: { description: "The database does not answer", schema: LegacyServiceHealth },
    },
  },
  async (c) => {
    const report = await healthReport(c.env, c.get("config"));
    const database = report.checks.database?.status === "ok";
    const kv = report.checks.kv?.status === "ok";
    c.header("Cache-Control", "no-store");
    return c.json(
      {
        status: database ? ("healthy" as const) : ("unhealthy" as const),
        services: { database, redis: kv, weaviate: database },
        timestamp: Math.floor(Date.now() / 1000),
      },
      database ? 200 : 503,
    );
  },
);
