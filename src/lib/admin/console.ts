// Serving the admin console's files (docs/admin.md): the page, its script and style, and uPlot, all from this
// origin under a CSP that allows nothing else. The console itself only calls the public API with the admin's token,
// so these files are public (they hold no data).
import type { Context } from "hono";
import type { AppEnv } from "../platform/env";
import { ApiError } from "../platform/errors";
import { ADMIN_ASSETS } from "./assets.generated";

/**
 * Scripts, styles and fetches from this origin only: no inline script or style element, no eval, no frames, no
 * plugins. uPlot styles its elements through the CSSOM (element.style), which style-src does not govern.
 */
export const ADMIN_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** The names served under /admin/ (the page itself is "" and answers at /admin). */
export const ADMIN_ASSET_NAMES = Object.keys(ADMIN_ASSETS).filter((name) => name !== "");

/** One file, revalidated on every load (no-cache with an ETag), so a deploy is seen at once. */
export function serveAdminAsset(c: Context<AppEnv>, name: string): Response {
  const asset = Object.hasOwn(ADMIN_ASSETS, name) ? ADMIN_ASSETS[name] : undefined;
  if (!asset) throw new ApiError("not_found", `No console file ${name}`);
  const headers = {
    "Content-Security-Policy": ADMIN_CSP,
    "Cache-Control": "no-cache",
    ETag: asset.etag,
    "X-Content-Type-Options": "nosniff",
  };
  if (c.req.header("if-none-match") === asset.etag) return new Response(null, { status: 304, headers });
  return new Response(asset.body, { headers: { ...headers, "Content-Type": asset.type } });
}
