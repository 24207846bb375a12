// The gateway: middleware every request passes, the services mounted at their prefixes,
// the OpenAPI document and docs page built from those services, and the error handlers.
import { Hono } from "hono";
import { z } from "zod";
import { recordRequestMetric } from "../analytics/request-metrics";
import { proxyRouted, routedMatch } from "../gateway/routing";
import { renderDocsPage } from "./docs-page";
import type { AppEnv } from "./env";
import { ApiError, errorResponse, onError } from "./errors";
import { methodIndex } from "./methods";
import { requestEnvelope } from "./middleware";
import { type ApiInfo, allOperations, buildOpenApiDocument } from "./openapi";
import { ApiRouter, type Mount } from "./router";

const DOCS_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

function metaRouter(document: () => Record<string, unknown>, page: () => string): ApiRouter {
  return new ApiRouter("meta")
    .route(
      {
        method: "get",
        path: "/openapi.json",
        auth: "public",
        rateLimit: false,
        summary: "This API as an OpenAPI 3.1 document",
        responses: { 200: { description: "The document", schema: z.record(z.string(), z.unknown()) } },
      },
      (c) => c.json(document()),
    )
    .route(
      {
        method: "get",
        path: "/docs",
        auth: "public",
        rateLimit: false,
        summary: "A readable API reference",
        responses: { 200: { description: "HTML page", contentType: "text/html" } },
      },
      (c) => {
        c.header("Content-Security-Policy", DOCS_CSP);
        return c.html(page());
      },
    );
}

export function createGateway(info: ApiInfo, services: Mount[]): Hono<AppEnv> {
  // The document and page are built on first use, once per isolate, not at import (cold start) time.
  let document: Record<string, unknown> | undefined;
  let page: string | undefined;
  const mounts: Mount[] = [];
  const getDocument = () => {
    document ??= buildOpenApiDocument(info, allOperations(mounts));
    return document;
  };
  const getPage = () => {
    page ??= renderDocsPage(getDocument());
    return page;
  };
  mounts.push(...services, { prefix: "", router: metaRouter(getDocument, getPage) });

  const app = new Hono<AppEnv>();
  app.use("*", requestEnvelope({ routed: routedMatch, proxy: proxyRouted, record: recordRequestMetric }));
  for (const { prefix, router } of mounts) app.route(prefix || "/", router.app);

  let allowedMethods: ((path: string) => string[]) | undefined;
  app.notFound((c) => {
    allowedMethods ??= methodIndex(allOperations(mounts));
    const allowed = allowedMethods(c.req.path);
    if (allowed.length > 0) {
      return errorResponse(
        c,
        new ApiError("method_not_allowed", `${c.req.method} is not supported on ${c.req.path}`, {
          headers: { Allow: allowed.join(", ") },
        }),
      );
    }
    return errorResponse(c, new ApiError("not_found", `No route for ${c.req.method} ${c.req.path}`));
  });
  app.onError(onError);
  return app;
}
