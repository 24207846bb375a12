// Many keys of one namespace in one request. Values travel inside JSON (as JSON, text or base64), so this is
// for many small values; a large one goes through PUT. Nothing is atomic: a batch put that fails part way
// leaves the keys written before the failure written.

import { z } from "zod";
import { fromBase64, toBase64 } from "../platform/base64";
import { ApiError } from "../platform/errors";
import { type KeyScope, kvKey } from "./keys";
import {
  ContentType,
  EntryInfoSchema,
  getValue,
  isJsonType,
  isTextType,
  putValue,
  TtlSeconds,
  tooLarge,
  UserMetadata,
} from "./kv";

export const BATCH_MAX_KEYS = 100;
/** The whole batch request body (base64 inflates bytes by a third). */
export const BATCH_MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Value bytes one batch get returns; values past it are listed with `omitted: true` and no value. */
const BATCH_GET_MAX_VALUE_BYTES = 8 * 1024 * 1024;
/** A Worker has at most six KV operations in flight; more just queue inside the runtime. */
const KV_PARALLELISM = 6;

const Encoding = z.enum(["json", "text", "base64"]);
type Encoding = z.infer<typeof Encoding>;

const PutItem = z
  .object({
    key: z.string(),
    value: z.json(),
    encoding: Encoding.default("json").describe("How `value` carries the bytes"),
    contentType: ContentType.optional().describe("Default: by encoding, application/json, text/plain or octet-stream"),
    ttl: TtlSeconds.optional(),
    metadata: UserMetadata.optional(),
  })
  .strict()
  .refine((item) => item.encoding === "json" || typeof item.value === "string", {
    message: "a text or base64 value must be a string",
    path: ["value"],
  });

export const BatchBody = z.discriminatedUnion("op", [
  z.object({ op: z.literal("get"), keys: z.array(z.string()).min(1).max(BATCH_MAX_KEYS) }).strict(),
  z.object({ op: z.literal("put"), items: z.array(PutItem).min(1).max(BATCH_MAX_KEYS) }).strict(),
]);
export type BatchBody = z.infer<typeof BatchBody>;

export const BatchResultSchema = z.object({
  items: z.array(
    z.union([
      z.object({ key: z.string(), found: z.literal(false) }),
      EntryInfoSchema.extend({
        found: z.literal(true),
        encoding: Encoding,
        value: z.unknown().optional(),
        omitted: z.literal(true).optional().describe("The value was past the batch's byte budget: GET it alone"),
      }),
      EntryInfoSchema.extend({ written: z.literal(true) }),
    ]),
  ),
});
type BatchResult = z.infer<typeof BatchResultSchema>;
type BatchItem = BatchResult["items"][number];

const DEFAULT_TYPE: Record<Encoding, string> = {
  json: "application/json",
  text: "text/plain; charset=utf-8",
  base64: "application/octet-stream",
};

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

function decodeBase64(value: string, path: (string | number)[]): Uint8Array {
  try {
    return fromBase64(value);
  } catch {
    throw new ApiError("invalid_request", "Invalid base64 value", {
      issues: [{ path, code: "invalid_base64", message: "Standard base64 expected" }],
    });
  }
}

/** A stored value as JSON can carry it: parsed JSON, text, or base64 when it is neither. */
function decodeValue(bytes: Uint8Array, contentType: string): { encoding: Encoding; value: unknown } {
  if (isJsonType(contentType) || isTextType(contentType)) {
    try {
      const text = strictUtf8.decode(bytes);
      return isJsonType(contentType)
        ? { encoding: "json", value: JSON.parse(text) }
        : { encoding: "text", value: text };
    } catch {
      // Bytes stored under a text type that are not UTF-8 (or JSON) still come back, as base64.
    }
  }
  return { encoding: "base64", value: toBase64(bytes) };
}

export async function batchGet(kv: KVNamespace, scope: KeyScope, keys: string[]): Promise<BatchResult> {
  const names = keys.map((key, i) => kvKey(scope, key, ["body", "keys", i]));
  const items: BatchItem[] = [];
  let budget = BATCH_GET_MAX_VALUE_BYTES;
  for (let start = 0; start < names.length; start += KV_PARALLELISM) {
    const chunk = names.slice(start, start + KV_PARALLELISM);
    const got = await Promise.all(chunk.map((name, j) => getValue(kv, name, keys[start + j] as string)));
    // Each chunk's streams are read or cancelled before the next chunk opens any, and in key order,
    // so the byte budget goes to the keys asked for first.
    for (const [j, stored] of got.entries()) {
      if (!stored) {
        items.push({ key: keys[start + j] as string, found: false });
      } else if (stored.info.size > budget) {
        await stored.body.cancel();
        items.push({ ...stored.info, found: true, encoding: "base64", omitted: true });
      } else {
        budget -= stored.info.size;
        const bytes = new Uint8Array(await new Response(stored.body).arrayBuffer());
        items.push({ ...stored.info, found: true, ...decodeValue(bytes, stored.info.contentType) });
      }
    }
  }
  return { items };
}

function valueBytes(item: z.infer<typeof PutItem>, path: (string | number)[]): Uint8Array {
  if (item.encoding === "base64") return decodeBase64(item.value as string, path);
  return utf8.encode(item.encoding === "text" ? (item.value as string) : JSON.stringify(item.value));
}

/** Validates every item (keys, sizes, duplicates) before writing any, then writes them all. */
export async function batchPut(
  kv: KVNamespace,
  scope: KeyScope,
  items: z.infer<typeof PutItem>[],
  maxValueBytes: number,
): Promise<BatchResult> {
  const seen = new Set<string>();
  const prepared = items.map((item, i) => {
    const name = kvKey(scope, item.key, ["body", "items", i, "key"]);
    if (seen.has(name)) {
      throw new ApiError("invalid_request", `Key ${JSON.stringify(item.key)} appears twice in one batch`, {
        issues: [{ path: ["body", "items", i, "key"], code: "duplicate", message: "Each key once per batch" }],
      });
    }
    seen.add(name);
    const bytes = valueBytes(item, ["body", "items", i, "value"]);
    if (bytes.byteLength > maxValueBytes) throw tooLarge(maxValueBytes, ["body", "items", i, "value"]);
    return { name, item, bytes };
  });
  // Puts hold no open stream, so they can all be handed to the runtime at once; it queues past six.
  const written = await Promise.all(
    prepared.map(({ name, item, bytes }) =>
      putValue(kv, name, item.key, bytes, {
        contentType: item.contentType ?? DEFAULT_TYPE[item.encoding],
        ttl: item.ttl,
        metadata: item.metadata,
      }),
    ),
  );
  return { items: written.map((info) => ({ ...info, written: true as const })) };
}
