// /api/memory: the old memory service's routes and shapes over the same implementation as /v1/memories.
// Its bugs are not kept: identity comes from the token (a client's X-User-ID is ignored) and `q` is used.
import { z } from "zod";
import { db } from "../../src/lib/db/client";
import { principal } from "../../src/lib/identity/auth";
import {
  createMemory,
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

export const legacyMemoryService = new ApiRouter("legacy memory")
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
