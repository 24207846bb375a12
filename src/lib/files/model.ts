// The files API's limits, input schemas and the item shape it answers with.
import { z } from "zod";
import { hasControlCharacters } from "../platform/control-characters";
import { CATEGORIES } from "./media";
import { TAG_LIMITS, Tag } from "./tags";
import { TEXT_STATUSES } from "./text";

export const FILE_LIMITS = {
  /** Characters in a whole path, and in one of its segments (a common file system's name limit). */
  pathMaxLength: 1024,
  segmentMaxLength: 255,
  pathMaxDepth: 32,
  /** Files in one multipart upload: each costs an R2 write, and a Worker has a budget of subrequests. */
  filesPerRequest: 100,
  descriptionMaxLength: 2000,
  /** A search query: long enough for a sentence, far from a pasted document (300 characters → 400). */
  queryMaxLength: 256,
  /** Words of a query that are searched; the rest are ignored (as Meilisearch does past 10). */
  queryMaxWords: 10,
  searchDefaultLimit: 20,
  searchMaxLimit: 100,
  /** How deep search pagination goes (results past it are not reachable; refine the query instead). */
  searchMaxOffset: 1000,
  /** Tag values in the search facets, most frequent first. */
  facetTags: 20,
  /** Distinct words one file adds to its owner's vocabulary for typo correction. */
  vocabularyPerFile: 5000,
  /** Typo corrections tried per query word. */
  correctionsPerWord: 3,
  /**
   * Hits ranked exactly. Past this many, a search ranks a capped candidate set (every name or tag hit up to this
   * many, and this many other hits) and its total and facet counts are estimates (`estimated: true`).
   */
  searchExactHits: 500,
  /** Vocabulary words a prefix being typed stands for (the shortest). */
  prefixCompletions: 30,
  listDefaultLimit: 50,
  listMaxLimit: 200,
  ...TAG_LIMITS,
} as const;

/** Why a path is refused, or its canonical form: "/a/b/c.txt". `folder`: the root ("/") is allowed. */
export function canonicalPath(
  raw: string,
  folder = false,
): { ok: true; path: string } | { ok: false; message: string } {
  if (raw.length > FILE_LIMITS.pathMaxLength) {
    return { ok: false, message: `A path is at most ${FILE_LIMITS.pathMaxLength} characters` };
  }
  if (hasControlCharacters(raw)) return { ok: false, message: "A path cannot contain NUL or control characters" };
  const segments = raw.split("/").filter((s) => s !== "");
  if (segments.some((s) => s === "." || s === "..")) return { ok: false, message: "A path cannot contain '.' or '..'" };
  if (segments.some((s) => s.length > FILE_LIMITS.segmentMaxLength)) {
    return { ok: false, message: `A path segment is at most ${FILE_LIMITS.segmentMaxLength} characters` };
  }
  if (segments.some((s) => s.trim() === "")) return { ok: false, message: "A path segment cannot be blank" };
  if (segments.length > FILE_LIMITS.pathMaxDepth) {
    return { ok: false, message: `A path is at most ${FILE_LIMITS.pathMaxDepth} segments deep` };
  }
  if (!folder && segments.length === 0) return { ok: false, message: "A file path needs a file name" };
  return { ok: true, path: `/${segments.join("/")}` };
}

const pathSchema = (folder: boolean) =>
  z.string().transform((raw, ctx) => {
    const result = canonicalPath(raw, folder);
    if (result.ok) return result.path;
    ctx.addIssue({ code: "custom", message: result.message });
    return z.NEVER;
  });

/** A file's path: "/docs/notes.md" (a leading slash is added; repeated slashes collapse). */
export const FilePath = pathSchema(false).describe("The file's path, e.g. /projects/site/readme.md");
/** A folder: "/" or "/docs". */
export const FolderPath = pathSchema(true);

export const nameOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);
export const folderOf = (path: string) => path.slice(0, path.lastIndexOf("/")) || "/";
export const joinPath = (folder: string, rest: string) => `${folder === "/" ? "" : folder}/${rest}`;

export const UserTags = z
  .array(Tag)
  .max(FILE_LIMITS.maxUserTags)
  .transform((tags) => [...new Set(tags)].sort());

/** "a,b,c" in a query string or a form field. */
export const CommaTags = z
  .string()
  .max(FILE_LIMITS.maxUserTags * (FILE_LIMITS.maxLength + 1))
  .transform((s) => s.split(",").filter((t) => t.trim() !== ""))
  .pipe(UserTags);

export const Description = z.string().max(FILE_LIMITS.descriptionMaxLength);

export const FileItem = z.object({
  id: z.string(),
  name: z.string(),
  path: z.string(),
  folder: z.string(),
  extension: z.string().describe("Lower case, without the dot; empty when there is none"),
  type: z.enum(CATEGORIES).describe("The category"),
  mediaType: z.string().describe("From the content's magic bytes, then the extension, then the content"),
  size: z.number(),
  sha256: z.string(),
  tags: z.array(z.string()).describe("ruleTags and userTags together"),
  ruleTags: z.array(z.string()),
  userTags: z.array(z.string()),
  description: z.string(),
  index: z.object({
    status: z.enum(TEXT_STATUSES),
    truncated: z.boolean().describe("Only the first FILES_INDEX_MAX_BYTES of the text are indexed"),
    indexedAt: z.string().nullable(),
  }),
  createdAt: z.string().describe("RFC 3339"),
  updatedAt: z.string().describe("RFC 3339: when its content, name, place, tags or description last changed"),
});
export type FileItem = z.infer<typeof FileItem>;

export const FileParams = z.object({ id: z.uuid() });

export const SearchHit = z.object({
  item: FileItem,
  relevanceScore: z.number(),
  matchReason: z
    .string()
    .describe("Which fields matched: name, tags, path, content; '(typo)' when only a correction did"),
  snippet: z.string().nullable().describe("HTML-escaped text around the match, matched words in <mark>"),
});
export type SearchHit = z.infer<typeof SearchHit>;

export const SearchResponse = z.object({
  results: z.array(SearchHit),
  total: z.number(),
  facets: z.object({ tags: z.record(z.string(), z.number()), types: z.record(z.string(), z.number()) }),
  nextCursor: z.string().nullable(),
  estimated: z
    .boolean()
    .describe(
      `true when there were more than ${FILE_LIMITS.searchExactHits} hits: total and facets are then estimates`,
    ),
});
export type SearchResponse = z.infer<typeof SearchResponse>;

const DateBound = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const SearchQuery = z.object({
  q: z.string().max(FILE_LIMITS.queryMaxLength).optional().describe("Words to find; the last one also as a prefix"),
  tags: CommaTags.optional().describe("Comma-separated; a file must carry all of them"),
  type: z
    .string()
    .max(200)
    .transform((s) =>
      s
        .split(",")
        .map((t) => t.trim().toLowerCase().replace(/^\./, ""))
        .filter(Boolean),
    )
    .pipe(z.array(z.string().min(1).max(32)).max(10))
    .optional()
    .describe("Comma-separated categories (code, document, data, media, archive, other) or extensions; any of them"),
  after: DateBound.optional().describe("Changed at or after (RFC 3339 or YYYY-MM-DD)"),
  before: DateBound.optional().describe("Changed before"),
  minSize: z.coerce.number().int().min(0).optional(),
  maxSize: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(FILE_LIMITS.searchMaxLimit).default(FILE_LIMITS.searchDefaultLimit),
  cursor: z.string().max(200).optional(),
});
export type SearchQuery = z.output<typeof SearchQuery>;

export const ListQuery = z.object({
  sort: z.enum(["recent", "size"]).default("recent"),
  limit: z.coerce.number().int().min(1).max(FILE_LIMITS.listMaxLimit).default(FILE_LIMITS.listDefaultLimit),
  cursor: z.string().max(200).optional(),
});
export type ListQuery = z.output<typeof ListQuery>;

export const FilePatch = z
  .object({
    name: z
      .string()
      .min(1)
      .max(FILE_LIMITS.segmentMaxLength)
      .refine((n) => !n.includes("/"), "a name cannot contain '/': use folder or path to move")
      .optional()
      .describe("Rename (same folder)"),
    folder: FolderPath.optional().describe("Move (same name)"),
    path: FilePath.optional().describe("Rename and move at once"),
    tags: UserTags.optional().describe("Replace your tags"),
    addTags: UserTags.optional(),
    removeTags: UserTags.optional(),
    description: Description.optional(),
  })
  .strict()
  .refine((p) => !(p.path && (p.name || p.folder)), "give either path, or name and/or folder")
  .refine((p) => !(p.tags && (p.addTags || p.removeTags)), "give either tags, or addTags and/or removeTags");
export type FilePatch = z.output<typeof FilePatch>;
