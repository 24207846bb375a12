// Serving a file's bytes: one byte range at most (RFC 9110), ETags from the content hash, and headers that keep a
// stored HTML or SVG file from running as a page of this API's origin.
import type { Context } from "hono";
import type { HttpDb } from "../db/client";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { untrustedContentHeaders } from "../platform/untrusted-content";
import { isTextType } from "./media";
import type { FileItem } from "./model";
import { getFile, readBlob } from "./store";

type ByteRange = { offset: number; length: number };

/**
 * A single `bytes=` range within `size`: undefined when there is none or it cannot be read (then the whole file
 * is sent, as RFC 9110 allows), "unsatisfiable" when it starts past the end.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "unsatisfiable";
    const length = Math.min(suffix, size);
    return size === 0 ? "unsatisfiable" : { offset: size - length, length };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) return "unsatisfiable";
  return { offset: start, length: end - start + 1 };
}

function contentHeaders(item: FileItem): Record<string, string> {
  const type = isTextType(item.mediaType) ? `${item.mediaType}; charset=utf-8` : item.mediaType;
  return {
    "Content-Type": type,
    ETag: `"${item.sha256}"`,
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, no-cache",
    ...untrustedContentHeaders(item.name),
  };
}

export async function contentResponse(
  c: Context<AppEnv>,
  database: HttpDb,
  userId: string,
  id: string,
): Promise<Response> {
  const item = await getFile(database, userId, id);
  const headers = contentHeaders(item);
  const etag = c.req.header("if-none-match");
  if (etag && (etag === "*" || etag.split(",").some((t) => t.trim().replace(/^W\//, "") === headers.ETag))) {
    return c.body(null, 304, headers);
  }
  const range = parseRange(c.req.header("range"), item.size);
  if (range === "unsatisfiable") {
    throw new ApiError("range_not_satisfiable", `The file has ${item.size} bytes`, {
      headers: { "Content-Range": `bytes */${item.size}` },
    });
  }
  const body = await readBlob(c.env, userId, item, range);
  if (!range) {
    return c.body(body?.body ?? "", 200, { ...headers, "Content-Length": String(item.size) });
  }
  return c.body(body?.body ?? "", 206, {
    ...headers,
    "Content-Length": String(range.length),
    "Content-Range": `bytes ${range.offset}-${range.offset + range.length - 1}/${item.size}`,
  });
}
