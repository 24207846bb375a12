// Real HTTP against `wrangler dev` in front of the real bridge and database.
import { describe, expect, inject, it } from "vitest";

const base = inject("workerUrl");

describe("the suite over real HTTP", () => {
  it("answers /health 200 with every dependency ok, the database included", async () => {
    const res = await fetch(`${base}/health`);
    const body = (await res.json()) as {
      status: string;
      checks: Record<string, { status: string; detail?: { instanceId?: string } }>;
    };
    expect(res.status, JSON.stringify(body)).toBe(200);
    // The e2e route table points /api/vectors at a port where nothing listens: an upstream down makes the
    // gateway degraded, never down, while Tessera's own dependencies are all ok.
    expect(body.status).toBe("degraded");
    for (const name of ["database", "kv", "r2", "durableObject", "queue"])
      expect(body.checks[name]?.status, name).toBe("ok");
    expect(body.checks.database?.detail?.instanceId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("answers the root with name, version and status", async () => {
    const res = await fetch(`${base}/`);
    expect(await res.json()).toMatchObject({ service: "tessera", status: "running" });
    expect(res.headers.get("x-request-id")).toBeTruthy();
  });

  it("never answers a client's mistake with a stack trace or a 500", async () => {
    const cases: [string, RequestInit, number][] = [
      ["/nowhere", {}, 404],
      ["/health", { method: "POST", body: "{", headers: { "content-type": "application/json" } }, 405],
      ["/openapi.json", { method: "DELETE" }, 405],
    ];
    for (const [path, init, status] of cases) {
      const res = await fetch(`${base}${path}`, init);
      const text = await res.text();
      expect(res.status, path).toBe(status);
      expect(JSON.parse(text).error.code).toMatch(/^(not_found|method_not_allowed)$/);
      expect(text).not.toMatch(/at .*\.(ts|js):\d+/);
    }
  });

  it("serves the OpenAPI document and the docs page", async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.paths["/health"]).toBeDefined();
    const page = await fetch(`${base}/docs`);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(await page.text()).toContain("/health");
  });

  it("echoes a client's request id", async () => {
    const res = await fetch(`${base}/`, { headers: { "X-Request-Id": "e2e-123" } });
    expect(res.headers.get("x-request-id")).toBe("e2e-123");
  });
});
