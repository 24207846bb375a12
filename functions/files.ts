// /v1/files: upload to R2, a typo-tolerant ranked index in Postgres, smart tags (src/lib/files/, docs/files.md).
import type { Context } from "hono";
import { z } from "zod";
import { db } from "../src/lib/db/client";
import { contentResponse } from "../src/lib/files/content";
import {
  CommaTags,
  canonicalPath,
  Description,
  FILE_LIMITS,
  FileItem,
  FileParams,
  FilePatch,
  FilePath,
  FolderPath,
  joinPath,
  ListQuery,
  SearchQuery,
  SearchResponse,
} from "../src/lib/files/model";
import { searchFiles } from "../src/lib/files/search";
import {
  createFiles,
  deleteFile,
  getFile,
  listFiles,
  type NewFile,
  patchFile,
  putFile,
  reindexFile,
} from "../src/lib/files/store";
import { principal } from "../src/lib/identity/auth";
import type { AppEnv } from "../src/lib/platform/env";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";
import { parseInput, readBodyBytes, readFormBody } from "../src/lib/platform/validate";

/** Room for a multipart body's boundaries and part headers beside the file bytes themselves. */
const MULTIPART_OVERHEAD_BYTES = 256 * 1024;

const tooLarge = (limit: number, what: string) =>
  new ApiError("payload_too_large", `${what} exceeds the limit of ${limit} bytes (FILES_MAX_BYTES)`);

const UploadFields = z.object({
  path: FolderPath.default("/"),
  tags: CommaTags.default([]),
  description: Description.default(""),
});

/** The multipart form as files to create: `file` (or `files`) parts, each named by its filename under `path`. */
async function filesFromForm(c: Context<AppEnv>): Promise<NewFile[]> {
  const limit = c.get("config").files.maxBytes;
  if (!/^multipart\/form-data/i.test(c.req.header("content-type") ?? "")) {
    throw new ApiError("unsupported_media_type", "Upload files as multipart/form-data (or PUT /v1/files/by-path)");
  }
  const form = await readFormBody(c, limit + MULTIPART_OVERHEAD_BYTES).catch((err: unknown) => {
    throw err instanceof ApiError && err.code === "payload_too_large" ? tooLarge(limit, "The upload") : err;
  });
  const fields = parseInput(
    UploadFields,
    {
      path: form.get("path") ?? undefined,
      tags: form.get("tags") ?? undefined,
      description: form.get("description") ?? undefined,
    },
    "body",
  );
  const parts = [...form.getAll("file"), ...form.getAll("files")];
  if (parts.length === 0 || parts.some((p) => typeof p === "string")) {
    throw new ApiError("invalid_request", "Send one or more files in parts named `file`", {
      issues: [{ path: ["body", "file"], code: "missing_file", message: "a file part (with a filename) is required" }],
    });
  }
  if (parts.length > FILE_LIMITS.filesPerRequest) {
    throw new ApiError("invalid_request", `At most ${FILE_LIMITS.filesPerRequest} files per upload`);
  }
  const out: NewFile[] = [];
  for (const [i, part] of (parts as File[]).entries()) {
    // A filename may carry folders ("src/app.ts", as directory uploads send); they go under `path`.
    const placed = part.name ? canonicalPath(joinPath(fields.path, part.name)) : undefined;
    if (!placed?.ok) {
      const message = placed ? placed.message : "Every file needs a filename";
      throw new ApiError("invalid_request", message, {
        issues: [{ path: ["body", "file", i], code: "invalid_path", message }],
      });
    }
    if (part.size > limit) throw tooLarge(limit, `The file ${part.name}`);
    out.push({
      path: placed.path,
      bytes: new Uint8Array(await part.arrayBuffer()),
      clientType: part.type || undefined,
      userTags: fields.tags,
      description: fields.description,
    });
  }
  return out;
}

const PutQuery = z.object({
  path: FilePath,
  tags: CommaTags.optional().describe("Replaces your tags on the file; without it a replaced file keeps them"),
  description: Description.optional(),
});

export const filesService = new ApiRouter("files")
  .route(
    {
      method: "post",
      path: "/",
      auth: "user",
      summary: "Upload files (multipart): bytes to R2, text and tags to the search index",
      description:
        "multipart/form-data with one or more parts named `file` (up to " +
        `${FILE_LIMITS.filesPerRequest}); a filename may include folders. Optional fields: \`path\` (the folder, ` +
        "default /), `tags` (comma-separated, yours), `description`. Each file and the whole request are limited " +
        "to FILES_MAX_BYTES (413). All files are created or none: a path already taken → 409. Identical content " +
        "is stored once per user (`deduplicated` lists the files that reused a blob).",
      responses: {
        201: {
          description: "Created",
          schema: z.object({ files: z.array(FileItem), deduplicated: z.array(z.string()) }),
        },
        409: { description: "A path is taken" },
        413: { description: "Over FILES_MAX_BYTES" },
      },
    },
    async (c) => {
      const input = await filesFromForm(c);
      return c.json(await createFiles(c.env, c.get("config"), db(c.env), principal(c).sub, input), 201);
    },
  )
  .route(
    {
      method: "put",
      path: "/by-path",
      auth: "user",
      summary: "Create or replace the file at a path (raw body)",
      description:
        "The request body is the file; its Content-Type is a hint only. A replaced file keeps its id, " +
        "description and (unless `tags` is given) your tags.",
      query: PutQuery,
      responses: {
        200: { description: "Replaced", schema: FileItem.extend({ deduplicated: z.boolean() }) },
        201: { description: "Created", schema: FileItem.extend({ deduplicated: z.boolean() }) },
        413: { description: "Over FILES_MAX_BYTES" },
      },
    },
    async (c, { query }) => {
      const limit = c.get("config").files.maxBytes;
      const bytes = await readBodyBytes(c, limit).catch((err: unknown) => {
        throw err instanceof ApiError && err.code === "payload_too_large" ? tooLarge(limit, "The file") : err;
      });
      const result = await putFile(c.env, c.get("config"), db(c.env), principal(c).sub, {
        path: query.path,
        bytes,
        clientType: c.req.header("content-type")?.split(";")[0]?.trim() || undefined,
        userTags: query.tags,
        description: query.description ?? "",
      });
      return c.json({ ...result.file, deduplicated: result.deduplicated }, result.created ? 201 : 200);
    },
  )
  .route(
    {
      method: "get",
      path: "/search",
      auth: "user",
      summary: "Search your files: typo-tolerant, prefix as you type, ranked, with facets and snippets",
      description:
        "`q` (up to 256 characters, 10 words) matches names, tags, folders and text; without `q` the filters " +
        "alone list files, newest first. Filters apply to every hit: `tags` (all of them), `type` (categories " +
        "or extensions, any of them), `after`/`before` (last change), `minSize`/`maxSize` (bytes). " +
        "Ranking: docs/files.md.",
      query: SearchQuery,
      responses: { 200: { description: "Hits, best first", schema: SearchResponse } },
    },
    async (c, { query }) => {
      const { type, ...rest } = query;
      return c.json(await searchFiles(db(c.env), principal(c).sub, { ...rest, types: type }));
    },
  )
  .route(
    {
      method: "get",
      path: "/",
      auth: "user",
      summary: "Your files, most recently changed (sort=recent) or largest (sort=size) first",
      query: ListQuery,
      responses: {
        200: {
          description: "A page",
          schema: z.object({ files: z.array(FileItem), nextCursor: z.string().nullable() }),
        },
      },
    },
    async (c, { query }) => c.json(await listFiles(db(c.env), principal(c).sub, query)),
  )
  .route(
    {
      method: "get",
      path: "/:id",
      auth: "user",
      summary: "One file's details",
      params: FileParams,
      responses: { 200: { description: "The file", schema: FileItem } },
    },
    async (c, { params }) => c.json(await getFile(db(c.env), principal(c).sub, params.id)),
  )
  .route(
    {
      method: "get",
      path: "/:id/content",
      auth: "user",
      summary: "The file's bytes (one `Range` supported; `If-None-Match` with its ETag → 304)",
      params: FileParams,
      responses: {
        200: { description: "The bytes", contentType: "application/octet-stream" },
        206: { description: "The requested range", contentType: "application/octet-stream" },
        416: { description: "The range starts past the end" },
      },
    },
    (c, { params }) => contentResponse(c, db(c.env), principal(c).sub, params.id),
  )
  .route(
    {
      method: "patch",
      path: "/:id",
      auth: "user",
      summary: "Rename, move, change your tags or the description",
      description:
        "`name` renames in place, `folder` moves, `path` does both; `tags` replaces your tags, `addTags` and " +
        "`removeTags` edit them. Rule tags follow the new name and place and cannot be removed.",
      params: FileParams,
      body: FilePatch,
      responses: { 200: { description: "The file", schema: FileItem }, 409: { description: "The path is taken" } },
    },
    async (c, { params, body }) =>
      c.json(await patchFile(c.env, c.get("config"), db(c.env), principal(c).sub, params.id, body)),
  )
  .route(
    {
      method: "delete",
      path: "/:id",
      auth: "user",
      summary: "Delete a file: its index entry, and its bytes unless another of your files has the same content",
      params: FileParams,
      responses: { 204: { description: "Deleted" } },
    },
    async (c, { params }) => {
      await deleteFile(c.env, db(c.env), principal(c).sub, params.id);
      return c.body(null, 204);
    },
  )
  .route(
    {
      method: "post",
      path: "/:id/reindex",
      auth: "user",
      summary: "Index the file again (after a rule change): in the request, or queued for a large file",
      params: FileParams,
      responses: {
        200: { description: "The file (index.status `queued` when the queue will do it)", schema: FileItem },
      },
    },
    async (c, { params }) => c.json(await reindexFile(c.env, c.get("config"), db(c.env), principal(c).sub, params.id)),
  );
