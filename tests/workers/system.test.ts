import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { HealthReport } from "../../src/lib/platform/health";

const call = (path: string, init?: RequestInit) =>
  exports.default.fetch(new Request(`https://tessera.test${path}`, init));

describe("GET /", () => {
  it("answers the legacy gateway's shape with this version", async () => {
    const res = await call("/");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      service: "tessera",
      version: expect.stringMatching(/^\d+\.\d+\.\d+/),
      status: "running",
    });
  });

  it("answers HEAD without a body", async () => {
    const res = await call("/", { method: "HEAD" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("");
  });
});

describe("GET /health", () => {
  it("reports every dependency ok, with latencies and the database's instance id", async () => {
    const res = await call("/health");
    const body = (await res.json()) as HealthReport;
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.status).toBe("ok");
    expect(Object.keys(body.checks).sort()).toEqual(["database", "durableObject", "kv", "queue", "r2"]);
    for (const [name, check] of Object.entries(body.checks)) {
      expect(check.status, name).toBe("ok");
      expect(check.latencyMs, name).toBeGreaterThanOrEqual(0);
    }
    expect(body.services).toEqual({ database: true, kv: true, r2: true, durableObject: true, queue: true });
    expect(body.checks.database?.detail?.instanceId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(body.timestamp)).not.toBeNaN();
    expect(res.headers.get("cache-control")).toBe("no-store");
  });

  it("answers 503 and names the database when it cannot be reached", async () => {
    const { default: worker } = await import("../../src/index");
    // A port nothing listens on: the real driver fails to connect.
    const broken = { ...env, DATABASE_URL: "postgres://tessera@127.0.0.1:1/tessera" };
    const res = await worker.fetch(new Request("https://tessera.test/health"), broken, {
      waitUntil() {},
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext);
    const body = (await res.json()) as HealthReport;
    expect(res.status).toBe(503);
    expect(body.status).toBe("down");
    expect(body.services.database).toBe(false);
    expect(body.checks.database?.error).toBeTruthy();
    expect(body.checks.kv?.status).toBe("ok");
  });
});

describe("request ids", () => {
  it("generates one when the client sends none", async () => {
    const res = await call("/");
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps a well-formed client id and puts it in error bodies", async () => {
    const res = await call("/nope", { headers: { "X-Request-Id": "client-abc.123" } });
    expect(res.headers.get("x-request-id")).toBe("client-abc.123");
    const body = (await res.json()) as { error: { requestId: string } };
    expect(body.error.requestId).toBe("client-abc.123");
  });

  it("replaces an id that could forge log lines", async () => {
    const res = await call("/", { headers: { "X-Request-Id": 'x" "level":"error' } });
    expect(res.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("headers", () => {
  it("sets secure headers and Server-Timing", async () => {
    const res = await call("/");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(res.headers.get("strict-transport-security")).toContain("max-age=");
    expect(res.headers.get("server-timing")).toMatch(/^total;dur=[\d.]+$/);
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    expect(res.headers.get("cross-origin-resource-policy")).toBe("same-site");
    // Headers that act only on a rendered document are not on a JSON answer (docs/security.md).
    expect(res.headers.get("x-xss-protection")).toBeNull();
    expect(res.headers.get("origin-agent-cluster")).toBeNull();
  });

  it("gives an HTML page the document headers too, and keeps its own Content-Security-Policy", async () => {
    const res = await call("/docs");
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("cross-origin-opener-policy")).toBe("same-origin");
    expect(res.headers.get("origin-agent-cluster")).toBe("?1");
    expect(res.headers.get("x-xss-protection")).toBe("0");
    expect(res.headers.get("content-security-policy")).toContain("style-src 'unsafe-inline'");
  });

  it("allows a configured origin", async () => {
    const res = await call("/", { headers: { Origin: "https://app.example.com" } });
    expect(res.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(res.headers.get("access-control-expose-headers")).toContain("X-Request-Id");
  });

  it("answers a preflight from a configured origin and refuses others", async () => {
    const ok = await call("/health", {
      method: "OPTIONS",
      headers: { Origin: "https://app.example.com", "Access-Control-Request-Method": "POST" },
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(ok.headers.get("access-control-allow-methods")).toContain("POST");

    const denied = await call("/health", {
      method: "OPTIONS",
      headers: { Origin: "https://evil.example", "Access-Control-Request-Method": "POST" },
    });
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });
});

describe("unknown routes and methods", () => {
  it("answers 404 in the one error shape", async () => {
    const res = await call("/v1/does-not-exist");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(await res.json()).toEqual({
      error: { code: "not_found", message: "No route for GET /v1/does-not-exist", requestId: expect.any(String) },
    });
  });

  it("answers 405 with Allow when the path exists under another method", async () => {
    const res = await call("/health", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD");
    const body = (await res.json()) as { error: { code: string } };
    expect(body.error.code).toBe("method_not_allowed");
  });
});

describe("API description", () => {
  it("serves an OpenAPI 3.1 document listing every route with its responses", async () => {
    const res = await call("/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      info: { title: string };
      paths: Record<string, Record<string, { summary: string; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("Tessera");
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/", "/docs", "/health", "/openapi.json"]));
    expect(Object.keys(doc.paths["/health"]?.get?.responses ?? {}).sort()).toEqual(["200", "503", "default"]);
    expect(doc.components.schemas.Error).toBeDefined();
  });

  it("documents each route's kind of credential and the GPU worker routes' bodies", async () => {
    type Op = { security: Record<string, string[]>[]; requestBody?: unknown; description?: string };
    const doc = (await (await call("/openapi.json")).json()) as {
      paths: Record<string, Record<string, Op>>;
      components: { securitySchemes: Record<string, { type: string; scheme?: string; in?: string }> };
    };
    expect(doc.components.securitySchemes).toMatchObject({
      bearerAuth: { type: "http", scheme: "bearer" },
      gpuWorkerAuth: { type: "http", scheme: "bearer" },
      hubTicket: { type: "apiKey", in: "query" },
    });
    const workerRoutes = [
      ["/v1/gpu/lease", "post"],
      ["/v1/gpu/jobs/{id}/input", "get"],
      ["/v1/gpu/jobs/{id}/heartbeat", "post"],
      ["/v1/gpu/jobs/{id}/artifacts/{name}", "put"],
      ["/v1/gpu/jobs/{id}/complete", "post"],
      ["/v1/gpu/jobs/{id}/fail", "post"],
      ["/v1/gpu/jobs/{id}/release", "post"],
    ] as const;
    for (const [path, method] of workerRoutes) {
      expect(doc.paths[path]?.[method]?.security, `${method} ${path}`).toEqual([{ gpuWorkerAuth: [] }]);
    }
    for (const path of ["/v1/gpu/lease", "/v1/gpu/jobs/{id}/complete", "/v1/gpu/jobs/{id}/fail"]) {
      expect(doc.paths[path]?.post?.requestBody, path).toBeDefined();
    }
    // The signed input URL is its own credential; the hub's upgrade takes a token or a ticket.
    expect(doc.paths["/v1/gpu/inputs/{id}"]?.get?.security).toEqual([]);
    expect(doc.paths["/v1/hub/rooms/{room}"]?.get?.security).toEqual([{ bearerAuth: [] }, { hubTicket: [] }]);
    expect(doc.paths["/v1/hub/rooms/{room}"]?.get?.description).toContain("bearer.<access token>");
    expect(doc.paths["/health"]?.get?.security).toEqual([]);
  });

  it("renders a readable docs page under its own CSP, with no script", async () => {
    const res = await call("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toContain("style-src 'unsafe-inline'");
    const html = await res.text();
    expect(html).toContain("<code>/health</code>");
    expect(html).not.toContain("<script");
  });
});
