// /v1/memories: an agent's memories, searchable by full-text relevance (src/lib/memory/memories.ts).
import { z } from "zod";
import { db } from "../src/lib/db/client";
import { principal } from "../src/lib/identity/auth";
import {
  createMemory,
  deleteMemory,
  getMemory,
  MEMORY_LIMITS,
  MemorySchema,
  NewMemory,
  SearchHitSchema,
  SearchQuery,
  searchMemories,
} from "../src/lib/memory/memories";
import { ApiRouter } from "../src/lib/platform/router";

const IdParams = z.object({ id: z.uuid() });

export const memoriesService = new ApiRouter("memories")
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Remember something",
      description:
        `Content up to ${MEMORY_LIMITS.contentMaxLength} characters, up to ${MEMORY_LIMITS.maxTags} tags of ` +
        `${MEMORY_LIMITS.tagMaxLength} characters, metadata up to 8 KiB, \`ttl\` in seconds.`,
      body: NewMemory,
      responses: { 201: { description: "Stored", schema: MemorySchema } },
    },
    async (c, { body }) => c.json(await createMemory(c, principal(c).sub, body), 201),
  )
  .route(
    {
      method: "get",
      path: "/search",
      auth: "user",
      summary: "Search your memories, most relevant first",
      description:
        "Postgres full-text search (English stemming, web-search syntax: quotes, `or`, `-word`). Ranked by " +
        "ts_rank with tags weighted above content, then newest first. Every hit's accessCount goes up by one. " +
        "Expired memories never appear.",
      query: SearchQuery,
      responses: {
        200: {
          description: "A page of hits",
          schema: z.object({ memories: z.array(SearchHitSchema), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (c, { query }) => c.json(await searchMemories(db(c.env), principal(c).sub, query)),
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: "user",
      summary: "One memory (usually from the KV cache, without touching Postgres)",
      description:
        "A cached copy's accessCount can be behind by up to MEMORY_CACHE_TTL_SECONDS; reading by id is not an access.",
      params: IdParams,
      responses: { 200: { description: "The memory", schema: MemorySchema } },
    },
    async (c, { params }) => c.json(await getMemory(c, principal(c).sub, params.id)),
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: "user",
      summary: "Forget a memory",
      params: IdParams,
      responses: { 204: { description: "Deleted" } },
    },
    async (c, { params }) => {
      await deleteMemory(c, principal(c).sub, params.id);
      return c.body(null, 204);
    },
  );
