// The old memory services' routes and shapes over the same implementation as /v1/memories (docs/legacy.md):
// /api/memory (the simple memory service) and /api/memories (go-services' memory-service, behind the old gateway).
// Their bugs are not kept: identity comes from the token (a client's X-User-ID or user_id is ignored).
import { z } from "zod";
import { db } from "../../src/lib/db/client";
import { principal } from "../../src/lib/identity/auth";
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

export const legacyMemoryService = new ApiRouter("legacy memory")
  .route(
    {
      method: "get",
      path: "/",
      auth: "user",
      summary: "Legacy (old gateway): your newest memories → {memories, total}",
      description: `\`limit\` 1 to ${MEMORY_LIMITS.searchMaxLimit}, default ${LEGACY_LIST_DEFAULT_LIMIT}; \`total\` counts all your live memories.`,
      query: z.object({
        limit: z.coerce.number().int().min(1).max(MEMORY_LIMITS.searchMaxLimit).default(LEGACY_LIST_DEFAULT_LIMIT),
      }),
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

const IdParams = z.object({ id: z.uuid() });

export const legacyMemoriesService = new ApiRouter("legacy memories")
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
    async (c, { params }) => c.json(serviceMemory(await getMemory(c, principal(c).sub, params.id))),
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: "user",
      summary: "Legacy (memory-service): forget a memory",
      description: "A memory that is not the caller's, or is already gone, answers 404 (memory-service said 204).",
      params: IdParams,
      responses: { 204: { description: "Deleted" } },
    },
    async (c, { params }) => {
      await deleteMemory(c, principal(c).sub, params.id);
      return c.body(null, 204);
    },
  );
