// The key-value store on Workers KV: a value is kept as bytes, and KV's per-key metadata carries its content
// type, a hash of it (the ETag), its size, its expiry and the caller's own small metadata. Nothing here
// reads-then-writes: KV has no compare-and-set, and a write can take up to a minute to reach other locations.

import { z } from "zod";
import { toBase64url } from "../platform/base64";
import { ApiError, type Issue } from "../platform/errors";
import { byteLength, type KeyScope, kvPrefix, userKey } from "./keys";

/** KV's limit on one key's metadata, serialized as JSON. */
const KV_METADATA_MAX_BYTES = 1024;
/**
 * The caller's metadata, serialized as JSON. Our own fields take at most 256 bytes (see `Envelope`),
 * so the two together always fit in KV's 1024.
 */
export const USER_METADATA_MAX_BYTES = 768;
const CONTENT_TYPE_MAX_LENGTH = 128;
/** KV cannot expire a key sooner than 60 s; a shorter TTL is refused rather than silently lengthened. */
const TTL_MIN_SECONDS = 60;
const TTL_MAX_SECONDS = 365 * 86_400;
/** KV's own largest list page. */
export const LIST_MAX_LIMIT = 1000;
export const LIST_DEFAULT_LIMIT = 100;
const DEFAULT_CONTENT_TYPE = "application/octet-stream";
export const METADATA_HEADER = "x-memory-metadata";
const EXPIRATION_HEADER = "x-memory-expiration";

const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+";
/**
 * type/subtype with token parameters. Quoted parameters are refused: they would need JSON escaping in the
 * envelope and the 256 bytes reserved for our fields would no longer be a bound.
 */
export const ContentType = z
  .string()
  .max(CONTENT_TYPE_MAX_LENGTH)
  .regex(new RegExp(`^${TOKEN}/${TOKEN}(\\s*;\\s*${TOKEN}=${TOKEN})*$`), "type/subtype with token parameters");

export const TtlSeconds = z
  .number()
  .int()
  .min(TTL_MIN_SECONDS, `KV cannot expire a key sooner than ${TTL_MIN_SECONDS} seconds`)
  .max(TTL_MAX_SECONDS);

export const UserMetadata = z
  .record(z.string(), z.json())
  .refine((m) => byteLength(JSON.stringify(m)) <= USER_METADATA_MAX_BYTES, {
    message: `metadata may be at most ${USER_METADATA_MAX_BYTES} bytes as JSON (KV allows 1024 with our own fields)`,
  });
export type UserMetadata = z.infer<typeof UserMetadata>;

/**
 * What KV's metadata holds, with short names. Worst case for our fields: {"t":<128 + 2>,"e":<43 + 2>,
 * "n":<8 digits: 25 MiB>,"x":<10 digits>,"m":…} is 219 bytes plus the caller's metadata.
 */
const Envelope = z.object({
  t: z.string(),
  e: z.string(),
  n: z.number(),
  x: z.number().optional(),
  m: z.record(z.string(), z.json()).optional(),
});
type Envelope = z.infer<typeof Envelope>;

export const EntryInfoSchema = z.object({
  key: z.string(),
  contentType: z.string(),
  etag: z.string().describe("Quoted, as in the ETag header"),
  size: z.number().describe("Bytes"),
  expiration: z.number().nullable().describe("Unix seconds, or null when the key does not expire"),
  metadata: z.record(z.string(), z.unknown()).nullable(),
});
type EntryInfo = z.infer<typeof EntryInfoSchema>;

interface PutOptions {
  contentType: string;
  ttl?: number;
  metadata?: UserMetadata;
}

/** A strong ETag: SHA-256 of the value, so equal bytes give equal tags wherever and whenever they were written. */
async function etagOf(bytes: Uint8Array): Promise<string> {
  return `"${toBase64url(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)))}"`;
}

function infoFrom(key: string, envelope: Envelope, expiration?: number): EntryInfo {
  return {
    key,
    contentType: envelope.t,
    etag: `"${envelope.e}"`,
    size: envelope.n,
    expiration: expiration ?? envelope.x ?? null,
    metadata: envelope.m ?? null,
  };
}

function envelopeOf(raw: unknown, name: string): Envelope {
  const parsed = Envelope.safeParse(raw);
  // Every value is written by putValue; one without our metadata was written around the API.
  if (!parsed.success) throw new ApiError("internal", `Stored entry ${JSON.stringify(name)} has no valid metadata`);
  return parsed.data;
}

/** Writes a value; `name` is the full KV key (kvKey), `key` the caller's. Last write wins. */
export async function putValue(
  kv: KVNamespace,
  name: string,
  key: string,
  bytes: Uint8Array,
  opts: PutOptions,
): Promise<EntryInfo> {
  const etag = await etagOf(bytes);
  const expiration = opts.ttl === undefined ? undefined : Math.floor(Date.now() / 1000) + opts.ttl;
  const envelope: Envelope = {
    t: opts.contentType,
    e: etag.slice(1, -1),
    n: bytes.byteLength,
    ...(expiration === undefined ? {} : { x: expiration }),
    ...(opts.metadata && Object.keys(opts.metadata).length ? { m: opts.metadata } : {}),
  };
  // Guaranteed by the limits above; checked so a future field cannot make KV refuse the write.
  if (byteLength(JSON.stringify(envelope)) > KV_METADATA_MAX_BYTES) {
    throw new ApiError("internal", "Entry metadata exceeds KV's 1024 bytes");
  }
  // One absolute expiry, so KV and our envelope agree to the second.
  await kv.put(name, bytes, { metadata: envelope, ...(expiration === undefined ? {} : { expiration }) });
  return infoFrom(key, envelope);
}

interface StoredValue {
  info: EntryInfo;
  body: ReadableStream;
}

/** Reads a value as a stream (up to 25 MiB need not be held in memory), or undefined when absent. */
export async function getValue(kv: KVNamespace, name: string, key: string): Promise<StoredValue | undefined> {
  const { value, metadata } = await kv.getWithMetadata(name, { type: "stream" });
  if (value === null) return undefined;
  try {
    return { info: infoFrom(key, envelopeOf(metadata, name)), body: value };
  } catch (err) {
    await value.cancel();
    throw err;
  }
}

export async function deleteValue(kv: KVNamespace, name: string): Promise<void> {
  await kv.delete(name);
}

interface ListPage {
  keys: EntryInfo[];
  cursor: string | null;
  complete: boolean;
}

export async function listValues(
  kv: KVNamespace,
  scope: KeyScope,
  opts: { prefix: string; cursor?: string; limit: number },
): Promise<ListPage> {
  let page: KVNamespaceListResult<unknown>;
  try {
    page = await kv.list({ prefix: kvPrefix(scope, opts.prefix), limit: opts.limit, cursor: opts.cursor ?? null });
  } catch (err) {
    // KV rejects a cursor it did not issue; anything else is KV's own failure.
    if (opts.cursor === undefined) throw err;
    throw new ApiError("invalid_request", "Invalid cursor", {
      issues: [{ path: ["query", "cursor"], code: "invalid_cursor", message: "Use the cursor of a previous page" }],
    });
  }
  return {
    keys: page.keys.map((k) => infoFrom(userKey(scope, k.name), envelopeOf(k.metadata, k.name), k.expiration)),
    cursor: page.list_complete ? null : page.cursor,
    complete: page.list_complete,
  };
}

/** If-None-Match against the current ETag (weak comparison, as RFC 9110 asks for GET and HEAD). */
export function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return true;
  if (header.trim() === "*") return false;
  return !header
    .split(",")
    .map((tag) => tag.trim().replace(/^W\//, ""))
    .includes(etag);
}

/** JSON that survives an HTTP header: every non-ASCII character escaped as \uXXXX (still valid JSON). */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** The headers a GET, HEAD or 304 carries for an entry. */
export function entryHeaders(info: EntryInfo): Record<string, string> {
  return {
    ETag: info.etag,
    // Any cache must revalidate with If-None-Match: a value can change under the same URL at any time.
    "Cache-Control": "private, no-cache",
    ...(info.expiration === null ? {} : { [EXPIRATION_HEADER]: String(info.expiration) }),
    ...(info.metadata ? { [METADATA_HEADER]: asciiJson(info.metadata) } : {}),
  };
}

/** The caller's metadata from its header (JSON, ASCII; escape other characters as \uXXXX). */
export function metadataFromHeader(header: string | undefined): UserMetadata | undefined {
  if (header === undefined) return undefined;
  const path = ["header", METADATA_HEADER];
  let value: unknown;
  try {
    value = JSON.parse(header);
  } catch (err) {
    throw new ApiError("invalid_request", `${METADATA_HEADER} is not valid JSON`, {
      issues: [{ path, code: "invalid_json", message: err instanceof Error ? err.message : String(err) }],
    });
  }
  const parsed = UserMetadata.safeParse(value);
  if (!parsed.success) {
    const issues: Issue[] = parsed.error.issues.map((i) => ({
      path: [...path, ...i.path.map(String)],
      code: i.code,
      message: i.message,
    }));
    throw new ApiError("invalid_request", `Invalid ${METADATA_HEADER}`, { issues });
  }
  return parsed.data;
}

/** The value's content type from the request, or application/octet-stream when none is sent. */
export function contentTypeFromHeader(header: string | undefined): string {
  const value = header?.trim();
  if (!value) return DEFAULT_CONTENT_TYPE;
  const parsed = ContentType.safeParse(value);
  if (!parsed.success) {
    throw new ApiError("invalid_request", "Unsupported Content-Type for a stored value", {
      issues: [
        {
          path: ["header", "content-type"],
          code: "invalid_content_type",
          message: `type/subtype with token parameters, at most ${CONTENT_TYPE_MAX_LENGTH} characters`,
        },
      ],
    });
  }
  return parsed.data;
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json$/i;
export const isJsonType = (contentType: string): boolean => JSON_TYPE.test(contentType.split(";")[0]?.trim() ?? "");
export const isTextType = (contentType: string): boolean => /^text\//i.test(contentType);

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/** A JSON value must parse, so that whoever reads it back (the batch route among them) can. */
export function assertJsonValue(bytes: Uint8Array, path: Issue["path"]): void {
  try {
    JSON.parse(strictUtf8.decode(bytes));
  } catch (err) {
    throw new ApiError("invalid_request", "A value stored as JSON must be valid UTF-8 JSON", {
      issues: [{ path, code: "invalid_json", message: err instanceof Error ? err.message : String(err) }],
    });
  }
}

export function tooLarge(limit: number, path: Issue["path"]): ApiError {
  return new ApiError("payload_too_large", `A value may be at most ${limit} bytes (MEMORY_MAX_VALUE_BYTES)`, {
    issues: [{ path, code: "too_big", message: `at most ${limit} bytes` }],
  });
}
