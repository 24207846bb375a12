// From bytes to an index row: what the file is, its text, its rule tags and its words. Pure: the upload route, the
// queue consumer, reindex and the benchmark's bulk loader all go through here, so they index alike.
import type { files } from "../db/schema";
import { describe, type MediaFacts, sniffMagic } from "./media";
import { folderOf, nameOf } from "./model";
import { type FileFacts, ruleTags, type TagRule } from "./tags";
import { type Extracted, extractText, looksBinary, type TextStatus } from "./text";
import { fold, identifierWords, vocabulary } from "./words";

export interface IndexSettings {
  indexMaxBytes: number;
  inlineIndexMaxBytes: number;
  tagRules: readonly TagRule[];
  vocabularyPerFile: number;
}

/** The columns indexing decides (everything but the owner, id, user tags, description and timestamps). */
type IndexedColumns = Pick<
  typeof files.$inferInsert,
  | "path"
  | "name"
  | "extension"
  | "mediaType"
  | "magicType"
  | "category"
  | "size"
  | "sha256"
  | "ruleTags"
  | "nameKey"
  | "pathKey"
  | "nameWords"
  | "pathWords"
  | "content"
  | "textStatus"
  | "contentTruncated"
> & { textStatus: TextStatus };

export interface Indexed {
  columns: IndexedColumns;
  /** Words for the owner's vocabulary. */
  terms: string[];
  /** The text is left to the queue (a large text file). */
  queued: boolean;
}

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Path-derived columns: used on upload and again on rename or move. */
export function pathColumns(path: string) {
  const name = nameOf(path);
  return {
    path,
    name,
    nameKey: fold(name),
    pathKey: fold(path),
    nameWords: identifierWords(name),
    pathWords: identifierWords(folderOf(path).replaceAll("/", " ")),
  };
}

function facts(path: string, media: MediaFacts, size: number, content: string | null): FileFacts {
  return {
    name: nameOf(path),
    path,
    extension: media.extension,
    mediaType: media.mediaType,
    category: media.category,
    language: media.language,
    size,
    content,
  };
}

export function textOf(bytes: Uint8Array, media: MediaFacts, settings: IndexSettings): Extracted {
  return extractText(bytes, {
    magicType: media.magicType,
    html: media.mediaType === "text/html",
    maxBytes: settings.indexMaxBytes,
  });
}

/** Columns derived from what the file is and its text (the media facts and the extracted text are given). */
export function derivedColumns(
  path: string,
  media: MediaFacts,
  size: number,
  text: { status: TextStatus; content: string | null; truncated: boolean },
  settings: IndexSettings,
): { columns: Omit<IndexedColumns, "sha256">; terms: string[] } {
  const at = pathColumns(path);
  const tags = ruleTags(settings.tagRules, facts(path, media, size, text.content));
  return {
    columns: {
      ...at,
      extension: media.extension,
      mediaType: media.mediaType,
      magicType: media.magicType,
      category: media.category,
      size,
      ruleTags: tags,
      content: text.content,
      textStatus: text.status,
      contentTruncated: text.truncated,
    },
    terms: vocabulary([at.nameWords, at.pathWords, tags.join(" "), text.content ?? ""], settings.vocabularyPerFile),
  };
}

/**
 * Everything about a new file's content. A text file over `inlineIndexMaxBytes` is marked `queued`: its text is
 * extracted later by the queue consumer (indexFromBytes), so the upload itself stays fast.
 */
export async function indexUpload(
  path: string,
  bytes: Uint8Array,
  clientType: string | undefined,
  settings: IndexSettings,
): Promise<Indexed> {
  const magicType = sniffMagic(bytes);
  const binary = magicType !== null || looksBinary(bytes);
  const media = describe(nameOf(path), magicType, !binary, clientType);
  const queued = !binary && bytes.length > settings.inlineIndexMaxBytes;
  const text = queued ? { status: "queued" as const, content: null, truncated: false } : textOf(bytes, media, settings);
  const { columns, terms } = derivedColumns(path, media, bytes.length, text, settings);
  return { columns: { ...columns, sha256: await sha256Hex(bytes) }, terms, queued };
}
