// /v1/memory: a key-value and cache API on Workers KV, one set of keys per user plus team namespaces.
// Eventually consistent (see docs/memory.md): nothing here offers compare-and-set or counters.
import { z } from "zod";
import { kvKey, resolveScope } from "../src/lib/memory/keys";
import {
  assertJsonValue,
  contentTypeFromHeader,
  deleteValue,
  EntryInfoSchema,
  entryHeaders,
  getValue,
  isJsonType,
  LIST_DEFAULT_LIMIT,
  LIST_MAX_LIMIT,
  listValues,
  METADATA_HEADER,
  metadataFromHeader,
  noneMatch,
  putValue,
  refuseConditionalWrite,
  TtlSeconds,
  tooLarge,
} from "../src/lib/memory/kv";
import {
  BATCH_MAX_BODY_BYTES,
  BATCH_MAX_KEYS,
  BatchBody,
  BatchResultSchema,
  batchGet,
  batchPut,
} from "../src/lib/memory/kv-batch";
import { Namespace } from "../src/lib/memory/namespace";
import { ApiError } from "../src/lib/platform/errors";
import { ApiRouter } from "../src/lib/platform/router";
import { readBodyBytes } from "../src/lib/platform/validate";

const NamespaceParams = z.object({ namespace: Namespace });
// The key may hold slashes; its length and characters are checked against the namespace's prefix (kvKey).
const KeyParams = z.object({ namespace: Namespace, key: z.string() });
// [\s\S] rather than "." so that a key with a newline reaches the handler and its 400, not a 405.
const KEY_PATH = "/:namespace/:key{[\\s\\S]*}";

export const memoryService = new ApiRouter("memory (key-value)")
  .route(
    {
      method: "get",
      path: "/:namespace",
      auth: "user",
      summary: "List keys with their metadata and expiry",
      description: `Keys in KV's order (lexicographic by bytes). Up to ${LIST_MAX_LIMIT} per page; follow \`cursor\` until \`complete\`.`,
      params: NamespaceParams,
      query: z.object({
        prefix: z.string().max(512).default("").describe("Only keys that start with this"),
        cursor: z
          .string()
          .max(1024)
          .regex(/^[\x21-\x7e]+$/, "the cursor of a previous page")
          .optional()
          .describe("KV's own cursor, from the previous page"),
        limit: z.coerce.number().int().min(1).max(LIST_MAX_LIMIT).default(LIST_DEFAULT_LIMIT),
      }),
      responses: {
        200: {
          description: "A page of keys",
          schema: z.object({ keys: z.array(EntryInfoSchema), cursor: z.string().nullable(), complete: z.boolean() }),
        },
      },
    },
    async (c, { params, query }) => {
      const scope = await resolveScope(c, params.namespace);
      return c.json(await listValues(c.env.MEMORY, scope, query));
    },
  )
  .route(
    {
      method: "post",
      path: "/:namespace/batch",
      auth: "user",
      summary: `Get or put up to ${BATCH_MAX_KEYS} keys at once`,
      description:
        '`{"op":"get","keys":[…]}` or `{"op":"put","items":[{key, value, encoding?, contentType?, ttl?, metadata?}]}`. ' +
        "Values travel as JSON, text or base64. Not atomic: a failed put may leave earlier items written. " +
        "A get returns at most 8 MiB of values; the rest come back with `omitted: true`.",
      params: NamespaceParams,
      body: BatchBody,
      bodyLimit: BATCH_MAX_BODY_BYTES,
      responses: { 200: { description: "One result per key, in order", schema: BatchResultSchema } },
    },
    async (c, { params, body }) => {
      const scope = await resolveScope(c, params.namespace);
      if (body.op === "get") return c.json(await batchGet(c.env.MEMORY, scope, body.keys));
      return c.json(await batchPut(c.env.MEMORY, scope, body.items, c.get("config").memoryMaxValueBytes));
    },
  )
  .route(
    {
      method: "put",
      path: KEY_PATH,
      auth: "user",
      summary: "Store a value (the raw body) with its content type",
      description:
        "The body is stored as bytes; `Content-Type` is kept (default application/octet-stream) and a JSON type " +
        `must carry valid JSON. Optional \`${METADATA_HEADER}\`: a JSON object of at most 768 bytes. ` +
        "Last write wins; a write can take up to a minute to be seen in other locations. `If-Match` and " +
        "`If-None-Match` are refused with 412: KV has no compare-and-set.",
      params: KeyParams,
      query: z.object({ ttl: z.coerce.number().pipe(TtlSeconds).optional().describe("Seconds until it expires") }),
      responses: {
        200: { description: "Stored", schema: EntryInfoSchema },
        412: { description: "A conditional header was sent: not supported, nothing written" },
      },
    },
    async (c, { params, query }) => {
      refuseConditionalWrite((name) => c.req.header(name));
      const scope = await resolveScope(c, params.namespace);
      const name = kvKey(scope, params.key);
      const contentType = contentTypeFromHeader(c.req.header("content-type"));
      const metadata = metadataFromHeader(c.req.header(METADATA_HEADER));
      const limit = c.get("config").memoryMaxValueBytes;
      let bytes: Uint8Array;
      try {
        bytes = await readBodyBytes(c, limit);
      } catch (err) {
        // Say which limit, and where it is configured.
        if (err instanceof ApiError && err.code === "payload_too_large") throw tooLarge(limit, ["body"]);
        throw err;
      }
      if (isJsonType(contentType)) assertJsonValue(bytes, ["body"]);
      const info = await putValue(c.env.MEMORY, name, params.key, bytes, { contentType, ttl: query.ttl, metadata });
      return c.json(info, 200, { ETag: info.etag });
    },
  )
  .route(
    {
      method: "get",
      path: KEY_PATH,
      auth: "user",
      summary: "Read a value (HEAD for its headers only)",
      description:
        "Answers the stored bytes with their Content-Type, a strong ETag, and the metadata and expiry headers. " +
        "`If-None-Match` with the current ETag answers 304. Another user's key is simply not found (404).",
      params: KeyParams,
      responses: {
        200: { description: "The value, as stored", contentType: "*/*" },
        304: { description: "Not modified" },
      },
    },
    async (c, { params }) => {
      const scope = await resolveScope(c, params.namespace);
      const stored = await getValue(c.env.MEMORY, kvKey(scope, params.key), params.key);
      if (!stored) throw new ApiError("not_found", "No such key");
      const headers = entryHeaders(stored.info);
      if (!noneMatch(c.req.header("if-none-match"), stored.info.etag)) {
        await stored.body.cancel();
        return c.body(null, 304, headers);
      }
      const full = { ...headers, "Content-Type": stored.info.contentType, "Content-Length": String(stored.info.size) };
      if (c.req.method === "HEAD") {
        await stored.body.cancel();
        return c.body(null, 200, full);
      }
      return c.body(stored.body, 200, full);
    },
  )
  .route(
    {
      method: "delete",
      path: KEY_PATH,
      auth: "user",
      summary: "Delete a key (204 whether or not it existed)",
      params: KeyParams,
      responses: {
        204: { description: "Gone" },
        412: { description: "A conditional header was sent: not supported, nothing deleted" },
      },
    },
    async (c, { params }) => {
      refuseConditionalWrite((name) => c.req.header(name));
      const scope = await resolveScope(c, params.namespace);
      await deleteValue(c.env.MEMORY, kvKey(scope, params.key));
      return c.body(null, 204);
    },
  );
