// Request validation: every body, query and path parameter goes through here and fails as `invalid_request`.
import type { Context } from "hono";
import type { z } from "zod";
import type { AppEnv } from "./env";
import { ApiError, type Issue } from "./errors";

type InputLocation = "body" | "query" | "path" | "header";

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

export function toIssues(error: z.ZodError, location: InputLocation): Issue[] {
  return error.issues.map((issue) => ({
    path: [location, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))],
    code: issue.code,
    message: issue.message,
  }));
}

/**
 * How deep a JSON value may nest. Validation (zod) and storage (jsonb) recurse, so a body nested thousands deep
 * would overflow the stack; no API input needs more than a few levels (docs/security.md "Input limits").
 */
export const MAX_INPUT_DEPTH = 64;

/**
 * The first problem no schema should ever see: a NUL character in any string or key (Postgres text and jsonb
 * cannot hold one, so it would fail as a 500 deep in a query) or nesting beyond MAX_INPUT_DEPTH. Walks with its
 * own stack, so the check itself cannot overflow.
 */
export function inputProblem(value: unknown): Issue | undefined {
  const stack: { value: unknown; path: (string | number)[] }[] = [{ value, path: [] }];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { value: v, path } = item;
    if (typeof v === "string") {
      if (v.includes("\0")) return { path, code: "invalid_character", message: "Text must not contain NUL (U+0000)" };
    } else if (typeof v === "object" && v !== null) {
      if (path.length >= MAX_INPUT_DEPTH) {
        return { path, code: "too_deep", message: `Nested deeper than ${MAX_INPUT_DEPTH} levels` };
      }
      const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((e, i) => [i, e]) : Object.entries(v);
      for (const [key, child] of entries) {
        if (typeof key === "string" && key.includes("\0")) {
          return { path, code: "invalid_character", message: "Names must not contain NUL (U+0000)" };
        }
        // Numbers, booleans and null need no look (a long numeric array costs no paths).
        if (typeof child === "string" || (typeof child === "object" && child !== null)) {
          stack.push({ value: child, path: [...path, key] });
        }
      }
    }
  }
  return undefined;
}

/** Validates an already-extracted value (query object, params, a header) against a schema. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, location: InputLocation): z.output<S> {
  const problem = inputProblem(value);
  if (problem) {
    throw new ApiError("invalid_request", `Invalid request ${location}`, {
      issues: [{ ...problem, path: [location, ...problem.path] }],
    });
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new ApiError("invalid_request", `Invalid request ${location}`, { issues: toIssues(result.error, location) });
  }
  return result.data;
}

export function mediaType(c: Context<AppEnv>): string {
  return (c.req.header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

/**
 * Reads the request body as bytes without ever holding more than `limit` of it:
 * Content-Length is checked first, then the stream is counted as it arrives.
 */
export async function readBodyBytes(c: Context<AppEnv>, limit: number): Promise<Uint8Array> {
  const tooLarge = () => new ApiError("payload_too_large", `Request body exceeds the limit of ${limit} bytes`);
  const declared = c.req.header("content-length");
  if (declared !== undefined && Number(declared) > limit) throw tooLarge();
  const body = c.req.raw.body;
  if (!body) return new Uint8Array(0);
  // A declared length within the limit, and no other framing, bounds the body (HTTP reads exactly that many bytes):
  // one native read instead of a reader loop. The check after it holds whatever the framing did.
  if (declared !== undefined && c.req.header("transfer-encoding") === undefined) {
    const bytes = new Uint8Array(await c.req.raw.arrayBuffer());
    if (bytes.byteLength > limit) throw tooLarge();
    return bytes;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > limit) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Reads and validates a JSON body: 415 for another media type, 413 over the limit,
 * 400 with the parser's own complaint for malformed JSON, 400 with zod's issues for the wrong shape.
 */
export async function readJsonBody<S extends z.ZodType>(
  c: Context<AppEnv>,
  schema: S,
  limit: number,
): Promise<z.output<S>> {
  const type = mediaType(c);
  if (!JSON_MEDIA_TYPE.test(type)) {
    throw new ApiError(
      "unsupported_media_type",
      `Expected a JSON body (Content-Type: application/json), got ${type ? `'${type}'` : "none"}`,
    );
  }
  const bytes = await readBodyBytes(c, limit);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError("invalid_request", "Request body is not valid UTF-8", {
      issues: [{ path: ["body"], code: "invalid_encoding", message: "Body must be UTF-8 encoded" }],
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ApiError("invalid_request", "Malformed JSON in request body", {
      issues: [{ path: ["body"], code: "invalid_json", message }],
    });
  }
  return parseInput(schema, value, "body");
}

/** Whether the request carries a multipart/form-data body. */
export function isMultipart(c: Context<AppEnv>): boolean {
  return mediaType(c) === "multipart/form-data";
}

/** Reads a multipart/form-data body within `limit` bytes; a body that does not parse → 400. */
export async function readFormBody(c: Context<AppEnv>, limit: number): Promise<FormData> {
  const bytes = await readBodyBytes(c, limit);
  try {
    return await new Response(bytes, { headers: { "content-type": c.req.header("content-type") ?? "" } }).formData();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new ApiError("invalid_request", "Malformed multipart body", {
      issues: [{ path: ["body"], code: "invalid_multipart", message }],
    });
  }
}
