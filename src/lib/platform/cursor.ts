// Opaque keyset cursors: a page's last sort key as base64url JSON, checked against a schema when it comes back.
import type { z } from "zod";
import { ApiError } from "./errors";

export function encodeCursor(values: readonly (string | number)[]): string {
  return btoa(JSON.stringify(values)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The sort key inside a cursor, or 400 for anything this API did not hand out. */
export function decodeCursor<S extends z.ZodType>(cursor: string, schema: S): z.output<S> {
  try {
    const padded = cursor.replace(/-/g, "+").replace(/_/g, "/");
    return schema.parse(JSON.parse(atob(padded)));
  } catch {
    throw new ApiError("invalid_request", "Invalid cursor", {
      issues: [{ path: ["query", "cursor"], code: "invalid_cursor", message: "Use the nextCursor of a previous page" }],
    });
  }
}
