// /api/files: the old file service's search request and response shapes (docs/files.md) over
// the same search as /v1/files. Its bugs are not kept: filters apply to content hits too, each file appears once,
// and the caller is the token's user.
import { z } from "zod";
import { db } from "../../src/lib/db/client";
import { CommaTags, FILE_LIMITS, type FileItem, SearchQuery, UserTags } from "../../src/lib/files/model";
import { searchFiles } from "../../src/lib/files/search";
import { listFiles } from "../../src/lib/files/store";
import { principal } from "../../src/lib/identity/auth";
import { ApiRouter } from "../../src/lib/platform/router";

const LegacyItem = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  type: z.string().describe("The category: code, document, data, media, archive or other"),
  size: z.number(),
  mimeType: z.string(),
  lastModified: z.string(),
  created: z.string(),
  tags: z.array(z.string()),
  description: z.string().optional(),
  metadata: z.record(z.string(), z.unknown()),
});

const legacy = (f: FileItem): z.infer<typeof LegacyItem> => ({
  id: f.id,
  name: f.name,
  path: f.path,
  type: f.type,
  size: f.size,
  mimeType: f.mediaType,
  lastModified: f.updatedAt,
  created: f.createdAt,
  tags: f.tags,
  ...(f.description ? { description: f.description } : {}),
  metadata: { extension: f.extension, sha256: f.sha256, ruleTags: f.ruleTags, userTags: f.userTags, index: f.index },
});

const LegacySearch = z
  .object({
    query: z.string().max(FILE_LIMITS.queryMaxLength).default(""),
    fileType: z
      .string()
      .max(32)
      .transform((t) => t.trim().toLowerCase().replace(/^\./, ""))
      .optional()
      .describe("A category (code, document, …) or an extension"),
    dateRange: z
      .object({ start: SearchQuery.shape.after, end: SearchQuery.shape.before })
      .partial()
      .optional()
      .describe("On the last change; start inclusive, end exclusive"),
    sizeRange: z
      .object({ min: z.number().int().min(0), max: z.number().int().min(0) })
      .partial()
      .optional(),
    tags: z.union([UserTags, CommaTags]).optional(),
    includeContent: z.boolean().default(true).describe("false: match names, tags and folders only"),
    maxResults: z.number().int().min(1).max(FILE_LIMITS.searchMaxLimit).default(20),
  })
  .strip();

const LegacyHit = z.object({
  item: LegacyItem,
  relevanceScore: z.number(),
  matchReason: z.string(),
  snippet: z.string().optional(),
});

const LimitQuery = z.object({
  limit: z.coerce.number().int().min(1).max(FILE_LIMITS.listMaxLimit).default(20),
});

export const legacyFilesService = new ApiRouter("legacy files")
  .route(
    {
      method: "post",
      path: "/search",
      auth: "user",
      summary: "Legacy: search {query, fileType?, dateRange?, sizeRange?, tags?, includeContent?, maxResults}",
      description:
        "Answers `[{item, relevanceScore, matchReason, snippet?}]`, best first. An empty query lists by the filters.",
      body: LegacySearch,
      responses: { 200: { description: "Hits, best first", schema: z.array(LegacyHit) } },
    },
    async (c, { body }) => {
      const page = await searchFiles(db(c.env), principal(c).sub, {
        q: body.query.trim() === "" ? undefined : body.query,
        types: body.fileType ? [body.fileType] : undefined,
        after: body.dateRange?.start,
        before: body.dateRange?.end,
        minSize: body.sizeRange?.min,
        maxSize: body.sizeRange?.max,
        tags: body.tags,
        includeContent: body.includeContent,
        limit: body.maxResults,
      });
      return c.json(
        page.results.map((hit) => ({
          item: legacy(hit.item),
          relevanceScore: hit.relevanceScore,
          matchReason: hit.matchReason,
          ...(hit.snippet ? { snippet: hit.snippet } : {}),
        })),
      );
    },
  )
  .route(
    {
      method: "get",
      path: "/recent",
      auth: "user",
      summary: "Legacy: recently changed files, newest first",
      query: LimitQuery,
      responses: { 200: { description: "Files", schema: z.array(LegacyItem) } },
    },
    async (c, { query }) =>
      c.json((await listFiles(db(c.env), principal(c).sub, { sort: "recent", limit: query.limit })).files.map(legacy)),
  )
  .route(
    {
      method: "get",
      path: "/large",
      auth: "user",
      summary: "Legacy: the largest files first",
      query: LimitQuery,
      responses: { 200: { description: "Files", schema: z.array(LegacyItem) } },
    },
    async (c, { query }) =>
      c.json((await listFiles(db(c.env), principal(c).sub, { sort: "size", limit: query.limit })).files.map(legacy)),
  );
