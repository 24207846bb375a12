// /admin: the admin console (docs/admin.md), a page of static files that signs in and then uses the public API.
import { z } from "zod";
import { ADMIN_ASSET_NAMES, serveAdminAsset } from "../src/lib/admin/console";
import { ApiRouter } from "../src/lib/platform/router";

export const adminConsolePages = new ApiRouter("admin-console")
  .route(
    {
      method: "get",
      path: "/admin",
      auth: "public",
      rateLimit: false,
      summary: "The admin console (sign in with an admin account; it calls this API with your token)",
      responses: { 200: { description: "HTML page", contentType: "text/html" }, 304: { description: "Unchanged" } },
    },
    (c) => serveAdminAsset(c, ""),
  )
  .route(
    {
      method: "get",
      path: "/admin/:file",
      auth: "public",
      rateLimit: false,
      summary: "The console's script, style sheet and chart library",
      params: z.object({ file: z.string().max(64).describe(ADMIN_ASSET_NAMES.join(", ")) }),
      responses: {
        200: { description: "The file", contentType: "text/plain" },
        304: { description: "Unchanged" },
        404: { description: "No such file" },
      },
    },
    (c, { params }) => serveAdminAsset(c, params.file),
  );
