// Files in R2 and Postgres: upload (one or many), replace by path, read, change, delete, list, reindex.
// Bytes live once per user and content (`files/<userId>/<sha256>`); a blob is deleted when the last of its
// owner's files that reference it goes.
import { and, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { z } from "zod";
import type { HttpDb } from "../db/client";
import { isUniqueViolation } from "../db/errors";
import { files } from "../db/schema";
import { indexedDocumentFormat } from "../documents/index-text";
import { PDF_POLL, pdfIndexResult, startPdfIndexing } from "../documents/pdf-indexing";
import { decodeCursor, encodeCursor } from "../platform/cursor";
import type { Config, Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { derivedColumns, type Indexed, type IndexSettings, indexUpload, pathColumns, textOf } from "./indexing";
import { describe } from "./media";
import {
  canonicalPath,
  FILE_LIMITS,
  type FileItem,
  type FilePatch,
  folderOf,
  joinPath,
  type ListQuery,
  nameOf,
} from "./model";
import type { Extracted, TextStatus } from "./text";

/** A text[] parameter (drizzle would spread a bare array into a list of parameters). */
export const textArray = (values: readonly string[]): SQL => sql`${sql.param([...values])}::text[]`;

export const blobKey = (userId: string, sha256: string) => `files/${userId}/${sha256}`;

const itemColumns = {
  id: files.id,
  path: files.path,
  name: files.name,
  extension: files.extension,
  mediaType: files.mediaType,
  category: files.category,
  size: files.size,
  sha256: files.sha256,
  tags: files.tags,
  ruleTags: files.ruleTags,
  userTags: files.userTags,
  description: files.description,
  textStatus: files.textStatus,
  contentTruncated: files.contentTruncated,
  indexedAt: files.indexedAt,
  createdAt: files.createdAt,
  updatedAt: files.updatedAt,
};
export interface ItemRow {
  id: string;
  path: string;
  name: string;
  extension: string;
  mediaType: string;
  category: string;
  size: number;
  sha256: string;
  tags: string[];
  ruleTags: string[];
  userTags: string[];
  description: string;
  textStatus: string;
  contentTruncated: boolean;
  indexedAt: Date | string | null;
  createdAt: Date | string;
  updatedAt: Date | string;
}

const iso = (d: Date | string) => (typeof d === "string" ? new Date(d) : d).toISOString();

export function toItem(row: ItemRow): FileItem {
  return {
    id: row.id,
    name: row.name,
    path: row.path,
    folder: folderOf(row.path),
    extension: row.extension,
    type: row.category as FileItem["type"],
    mediaType: row.mediaType,
    size: Number(row.size),
    sha256: row.sha256,
    tags: row.tags,
    ruleTags: row.ruleTags,
    userTags: row.userTags,
    description: row.description,
    index: {
      status: row.textStatus as TextStatus,
      truncated: row.contentTruncated,
      indexedAt: row.indexedAt === null ? null : iso(row.indexedAt),
    },
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
  };
}

const indexSettings = (config: Config): IndexSettings => ({
  ...config.files,
  vocabularyPerFile: FILE_LIMITS.vocabularyPerFile,
});

const notFound = () => new ApiError("not_found", "File not found");

/**
 * Adds words to the owner's vocabulary (typo correction); words already there are left alone. In sorted order:
 * two uploads in flight with words in common would otherwise lock the same keys in different orders and deadlock
 * (one of them answered 500; seen with two 100-file uploads at once, bench:search).
 */
function vocabularyInsert(userId: string, terms: readonly string[]): SQL {
  return sql`insert into file_terms (user_id, term)
    select ${userId}::uuid, t from unnest(${textArray(terms)}) as t order by t on conflict do nothing`;
}

/**
 * Stores bytes once per user and content: the write is conditional on the key being absent (If-None-Match: *),
 * so identical content is never stored twice and one request says whether it was already there.
 * Returns whether the bytes were written (false: the blob was there and is reused).
 */
async function putBlob(env: Env, userId: string, sha256: string, bytes: Uint8Array): Promise<boolean> {
  const written = await env.FILES.put(blobKey(userId, sha256), bytes, { onlyIf: { etagDoesNotMatch: "*" }, sha256 });
  return written !== null;
}

/**
 * Deletes the user's blob of this content unless another of their files still references it. A file row that
 * references the blob is written before the blob (uploads) and removed before this check (deletes), so only an
 * upload of the same bytes racing the delete of their last other copy can lose them (docs/files.md).
 */
async function releaseBlob(env: Env, database: HttpDb, userId: string, sha256: string): Promise<void> {
  const rows = await database.execute<{ used: boolean }>(sql`select ${blobInUse(userId, sql`${sha256}`)} as used`);
  if (!rows.rows[0]?.used) await env.FILES.delete(blobKey(userId, sha256));
}

/** Whether a file row of the user's other than `except` references the content `sha256` (an SQL expression). */
function blobInUse(userId: string, sha256: SQL, except?: string): SQL {
  return sql`exists(select 1 from ${files} where ${files.userId} = ${userId} and ${files.sha256} = ${sha256}${
    except ? sql` and ${files.id} <> ${except}` : sql``
  })`;
}

export interface NewFile {
  path: string;
  bytes: Uint8Array;
  clientType?: string;
  /** Yours; when replacing a file, undefined keeps the ones it has. */
  userTags?: string[];
  description: string;
}

async function enqueueIndexing(env: Env, userId: string, queued: { id: string; sha256: string }[]): Promise<void> {
  if (queued.length === 0) return;
  await env.GPU_JOBS.sendBatch(
    queued.map((f) => ({ body: { kind: "files.index" as const, userId, fileId: f.id, sha256: f.sha256 } })),
  );
}

/**
 * Creates files at new paths, all or none: one INSERT for the rows and the vocabulary, then one conditional R2
 * write per distinct content, then the queue for large text. Any path already taken → 409 naming them, and
 * nothing is kept.
 */
export async function createFiles(
  env: Env,
  config: Config,
  database: HttpDb,
  userId: string,
  input: readonly NewFile[],
): Promise<{ files: FileItem[]; deduplicated: string[] }> {
  const settings = indexSettings(config);
  const seen = new Set<string>();
  for (const f of input) {
    if (seen.has(f.path)) throw new ApiError("conflict", `The path ${f.path} appears twice in this upload`);
    seen.add(f.path);
  }
  const indexed: Indexed[] = [];
  for (const f of input) indexed.push(await indexUpload(f.path, f.bytes, f.clientType, settings));
  const terms = [...new Set(indexed.flatMap((x) => x.terms))];
  const values = indexed.map((x, i) => ({
    ...x.columns,
    userId,
    userTags: input[i]?.userTags ?? [],
    description: input[i]?.description ?? "",
    indexedAt: x.queued ? null : new Date(),
  }));
  const insert = database.insert(files).values(values).onConflictDoNothing().returning(itemColumns);
  const [rows] = await database.batch([insert, database.execute(vocabularyInsert(userId, terms))]);
  if (rows.length < values.length) {
    const created = new Set(rows.map((r) => r.path));
    const taken = values.map((v) => v.path).filter((p) => !created.has(p));
    if (rows.length > 0) {
      await database.delete(files).where(
        and(
          eq(files.userId, userId),
          inArray(
            files.id,
            rows.map((r) => r.id),
          ),
        ),
      );
    }
    throw new ApiError("conflict", `A file already exists at ${taken.slice(0, 5).join(", ")}`, {
      issues: taken.slice(0, 20).map((p) => ({ path: ["body", "files"], code: "path_taken", message: p })),
    });
  }
  const ids = rows.map((r) => r.id);
  const bytesBySha = new Map(indexed.map((x, i) => [x.columns.sha256, input[i]?.bytes as Uint8Array]));
  const written = new Set<string>();
  try {
    await inBatches([...bytesBySha.keys()], 6, async (sha) => {
      if (await putBlob(env, userId, sha, bytesBySha.get(sha) as Uint8Array)) written.add(sha);
    });
  } catch (err) {
    await database.delete(files).where(and(eq(files.userId, userId), inArray(files.id, ids)));
    throw err;
  }
  const byPath = new Map(rows.map((r) => [r.path, r]));
  const ordered = values.map((v) => byPath.get(v.path) as ItemRow);
  await enqueueIndexing(
    env,
    userId,
    ordered.filter((_, i) => indexed[i]?.queued),
  );
  // Reused: the blob was there before, or an earlier file of this upload brought the same bytes.
  const firstWithSha = new Map<string, string>();
  for (const r of ordered) if (!firstWithSha.has(r.sha256)) firstWithSha.set(r.sha256, r.id);
  return {
    files: ordered.map(toItem),
    deduplicated: ordered.filter((r) => !written.has(r.sha256) || firstWithSha.get(r.sha256) !== r.id).map((r) => r.id),
  };
}

/** Runs `fn` over items, `width` at a time (a Worker may hold six connections open at once). */
async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/**
 * Creates or replaces the file at a path (PUT by path). A replaced file keeps its id, its tags unless new ones
 * are given, and its description; its old content's blob is released if nothing else uses it.
 */
export async function putFile(
  env: Env,
  config: Config,
  database: HttpDb,
  userId: string,
  input: NewFile,
): Promise<{ file: FileItem; created: boolean; deduplicated: boolean }> {
  const settings = indexSettings(config);
  const x = await indexUpload(input.path, input.bytes, input.clientType, settings);
  const values = {
    ...x.columns,
    userId,
    userTags: input.userTags ?? [],
    description: input.description,
    indexedAt: x.queued ? null : new Date(),
  };
  const { path: _p, name: _n, ...changed } = x.columns;
  const old = database
    .select({ sha256: files.sha256 })
    .from(files)
    .where(and(eq(files.userId, userId), eq(files.path, input.path)));
  const upsert = database
    .insert(files)
    .values(values)
    .onConflictDoUpdate({
      target: [files.userId, files.path],
      set: {
        ...changed,
        ...(input.userTags ? { userTags: input.userTags } : {}),
        indexedAt: values.indexedAt,
        updatedAt: sql`now()`,
      },
    })
    .returning(itemColumns);
  // The old content's hash is read first in the same batch (one transaction), so it is the row the upsert replaced.
  const [before, rows] = await database.batch([old, upsert, database.execute(vocabularyInsert(userId, x.terms))]);
  const row = rows[0];
  if (!row) throw new Error("INSERT … ON CONFLICT DO UPDATE returned no row");
  const written = await putBlob(env, userId, x.columns.sha256, input.bytes);
  const previous = before[0]?.sha256;
  if (previous && previous !== x.columns.sha256) await releaseBlob(env, database, userId, previous);
  if (x.queued) await enqueueIndexing(env, userId, [row]);
  return { file: toItem(row), created: previous === undefined, deduplicated: !written };
}

export async function getFile(database: HttpDb, userId: string, id: string): Promise<FileItem> {
  const [row] = await database
    .select(itemColumns)
    .from(files)
    .where(and(eq(files.id, id), eq(files.userId, userId)));
  if (!row) throw notFound();
  return toItem(row);
}

export async function deleteFile(env: Env, database: HttpDb, userId: string, id: string): Promise<void> {
  // The DELETE and releaseBlob's check in one statement, one round trip. The check reads the snapshot from before
  // the DELETE, so it leaves the deleted row out by id.
  const { rows } = await database.execute<{ sha256: string; used: boolean }>(sql`
    with deleted as (
      delete from ${files} where ${files.id} = ${id} and ${files.userId} = ${userId} returning ${files.sha256}
    )
    select deleted.sha256, ${blobInUse(userId, sql`deleted.sha256`, id)} as used from deleted`);
  const row = rows[0];
  if (!row) throw notFound();
  if (!row.used) await env.FILES.delete(blobKey(userId, row.sha256));
}

/** A file's bytes, whole or one range; null for an empty file (R2 cannot serve a range of nothing). */
export async function readBlob(
  env: Env,
  userId: string,
  item: FileItem,
  range?: { offset: number; length: number },
): Promise<R2ObjectBody | null> {
  if (item.size === 0) return null;
  const object = await env.FILES.get(blobKey(userId, item.sha256), range ? { range } : {});
  if (!object) throw new ApiError("not_found", "The file's content is missing; upload it again");
  return object;
}

const ListCursor = z.tuple([z.union([z.string(), z.number()]), z.uuid()]);

export async function listFiles(
  database: HttpDb,
  userId: string,
  query: ListQuery,
): Promise<{ files: FileItem[]; nextCursor: string | null }> {
  const key = query.sort === "size" ? files.size : files.updatedAt;
  const conditions: SQL[] = [eq(files.userId, userId)];
  if (query.cursor) {
    const [after, afterId] = decodeCursor(query.cursor, ListCursor);
    const bound = query.sort === "size" ? sql`${Number(after)}::bigint` : sql`${String(after)}::timestamptz`;
    conditions.push(sql`(${key}, ${files.id}) < (${bound}, ${afterId}::uuid)`);
  }
  const rows = await database
    .select(itemColumns)
    .from(files)
    .where(and(...conditions))
    .orderBy(desc(key), desc(files.id))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit).map(toItem);
  const last = page.at(-1);
  const more = rows.length > query.limit && last;
  return {
    files: page,
    nextCursor: more ? encodeCursor([query.sort === "size" ? last.size : last.updatedAt, last.id]) : null,
  };
}

interface StoredRow extends ItemRow {
  magicType: string | null;
  content: string | null;
}

async function storedRow(database: HttpDb, userId: string, id: string): Promise<StoredRow> {
  const [row] = await database
    .select({ ...itemColumns, magicType: files.magicType, content: files.content })
    .from(files)
    .where(and(eq(files.id, id), eq(files.userId, userId)));
  if (!row) throw notFound();
  return row;
}

/**
 * Reads the file's bytes and indexes them again (the queue consumer, POST …/reindex, a rename that changes how
 * the text is read). Only if the file still has the content that was read: a newer upload wins.
 */
export async function reindexFromBlob(
  env: Env,
  config: Config,
  database: HttpDb,
  userId: string,
  id: string,
  expectedSha?: string,
): Promise<FileItem | null> {
  const row = await storedRow(database, userId, id).catch((err: unknown) => {
    if (err instanceof ApiError && err.code === "not_found" && expectedSha) return null;
    throw err;
  });
  if (!row || (expectedSha && row.sha256 !== expectedSha)) return null;
  const settings = indexSettings(config);
  const media = describe(row.name, row.magicType, row.textStatus !== "binary", row.mediaType);
  const document = indexedDocumentFormat(media.mediaType);
  if (document === "pdf") {
    await startPdfIndexing(env, userId, { id, sha256: row.sha256, size: row.size, key: blobKey(userId, row.sha256) });
    return writeIndexText(database, settings, userId, row, { status: "queued", content: null, truncated: false });
  }
  // Only what the index can use: a few bytes past the cap still tell that the text was cut. A document is read
  // whole (its text is inside a container), within the document limits.
  const head = document ? row.size : settings.indexMaxBytes + 8;
  const object =
    row.size === 0
      ? null
      : await env.FILES.get(blobKey(userId, row.sha256), row.size > head ? { range: { offset: 0, length: head } } : {});
  if (row.size > 0 && !object) throw new ApiError("not_found", "The file's content is missing; upload it again");
  const bytes = object ? new Uint8Array(await object.arrayBuffer()) : new Uint8Array(0);
  return writeIndexText(database, settings, userId, row, textOf(bytes, media, settings));
}

/** Stores a file's index text (and its words), only if the file still has the content the text came from. */
async function writeIndexText(
  database: HttpDb,
  settings: IndexSettings,
  userId: string,
  row: StoredRow,
  text: Extracted,
): Promise<FileItem | null> {
  const media = describe(row.name, row.magicType, row.textStatus !== "binary", row.mediaType);
  const { columns, terms } = derivedColumns(row.path, media, row.size, text, settings);
  const [updated] = await database.batch([
    database
      .update(files)
      .set({ ...columns, indexedAt: text.status === "queued" ? null : sql`now()` })
      .where(and(eq(files.id, row.id), eq(files.userId, userId), eq(files.sha256, row.sha256)))
      .returning(itemColumns),
    database.execute(vocabularyInsert(userId, terms)),
  ]);
  return updated[0] ? toItem(updated[0]) : null;
}

/**
 * The queue's look at a PDF's extraction: its text indexed once the job ends, or the next look scheduled with a
 * longer delay; a file replaced or deleted meanwhile is left alone.
 */
export async function collectPdfText(
  env: Env,
  config: Config,
  database: HttpDb,
  message: { userId: string; fileId: string; sha256: string; jobId: string; polls: number },
): Promise<void> {
  const settings = indexSettings(config);
  const result = await pdfIndexResult(env, message.userId, message.jobId, settings.indexMaxBytes);
  const row = await storedRow(database, message.userId, message.fileId).catch(() => null);
  if (!row || row.sha256 !== message.sha256) return;
  if (result !== "pending") {
    await writeIndexText(database, settings, message.userId, row, result);
    return;
  }
  if (message.polls >= PDF_POLL.maxPolls) {
    await writeIndexText(database, settings, message.userId, row, {
      status: "failed",
      content: null,
      truncated: false,
    });
    return;
  }
  const delaySeconds = Math.min(PDF_POLL.maxDelaySeconds, 2 ** message.polls);
  await env.GPU_JOBS.send({ kind: "documents.collect", ...message, polls: message.polls + 1 }, { delaySeconds });
}

/** POST …/reindex: in the request for a file up to the inline limit, else through the queue (status `queued`). */
export async function reindexFile(
  env: Env,
  config: Config,
  database: HttpDb,
  userId: string,
  id: string,
): Promise<FileItem> {
  const row = await storedRow(database, userId, id);
  if (row.size <= config.files.inlineIndexMaxBytes) {
    return (await reindexFromBlob(env, config, database, userId, id)) ?? getFile(database, userId, id);
  }
  const [queued] = await database
    .update(files)
    .set({ textStatus: "queued" })
    .where(and(eq(files.id, id), eq(files.userId, userId)))
    .returning(itemColumns);
  if (!queued) throw notFound();
  await enqueueIndexing(env, userId, [queued]);
  return toItem(queued);
}

/**
 * Rename, move, tags, description. Rule tags follow the new name and place (from the stored text); a new
 * extension that changes how the text is read (HTML or not) reindexes from the bytes.
 */
export async function patchFile(
  env: Env,
  config: Config,
  database: HttpDb,
  userId: string,
  id: string,
  patch: FilePatch,
): Promise<FileItem> {
  const row = await storedRow(database, userId, id);
  let path = row.path;
  if (patch.path) path = patch.path;
  else if (patch.name || patch.folder) {
    const moved = canonicalPath(joinPath(patch.folder ?? folderOf(row.path), patch.name ?? nameOf(row.path)));
    if (!moved.ok) {
      throw new ApiError("invalid_request", moved.message, {
        issues: [{ path: ["body", patch.name ? "name" : "folder"], code: "invalid_path", message: moved.message }],
      });
    }
    path = moved.path;
  }
  let userTags = patch.tags ?? row.userTags;
  if (patch.addTags) userTags = [...new Set([...userTags, ...patch.addTags])].sort();
  if (patch.removeTags) userTags = userTags.filter((t) => !patch.removeTags?.includes(t));
  if (userTags.length > FILE_LIMITS.maxUserTags) {
    throw new ApiError("invalid_request", `A file carries at most ${FILE_LIMITS.maxUserTags} tags of yours`);
  }

  const settings = indexSettings(config);
  const media = describe(nameOf(path), row.magicType, row.textStatus !== "binary", row.mediaType);
  const rereads = (media.mediaType === "text/html") !== (row.mediaType === "text/html") && row.textStatus === "indexed";
  const text = {
    status: row.textStatus as TextStatus,
    content: row.content,
    truncated: row.contentTruncated,
  };
  const { columns, terms } = derivedColumns(path, media, row.size, text, settings);
  const set = path === row.path ? { ruleTags: columns.ruleTags } : { ...pathColumns(path), ...columns };
  try {
    const [rows] = await database.batch([
      database
        .update(files)
        .set({ ...set, userTags, description: patch.description ?? row.description, updatedAt: sql`now()` })
        .where(and(eq(files.id, id), eq(files.userId, userId)))
        .returning(itemColumns),
      database.execute(vocabularyInsert(userId, [...terms, ...userTags])),
    ]);
    if (!rows[0]) throw notFound();
    if (rereads) return reindexFile(env, config, database, userId, id);
    return toItem(rows[0]);
  } catch (err) {
    if (isUniqueViolation(err)) throw new ApiError("conflict", `A file already exists at ${path}`);
    throw err;
  }
}
