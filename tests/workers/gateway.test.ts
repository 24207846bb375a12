// The gateway's pieces on their own: the route table, the circuit breaker, forwarding headers,
// the per-route timeout and the per-caller request limit.
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "../../src/lib/gateway/breaker";
import { upstreamHeaders } from "../../src/lib/gateway/proxy";
import { buildRouteTable, matchRoute, RouteTableError, upstreamsOf } from "../../src/lib/gateway/route-table";
import { createGateway } from "../../src/lib/platform/app";
import { type AppEnv, getConfig } from "../../src/lib/platform/env";
import { ApiRouter } from "../../src/lib/platform/router";

describe("route table", () => {
  it("defaults the old gateway's prefixes: auth, memory and ws local, the rest unconfigured", () => {
    const table = buildRouteTable(undefined);
    expect(matchRoute(table, "/api/auth/login")?.route.target).toEqual({ kind: "local" });
    expect(matchRoute(table, "/ws")?.route.target).toEqual({ kind: "local" });
    expect(matchRoute(table, "/api/memories/search")?.route.target).toEqual({ kind: "local" });
    expect(matchRoute(table, "/api/chat/x")?.route.target).toEqual({ kind: "unconfigured", name: "chat" });
    expect(matchRoute(table, "/v1/users")).toBeUndefined();
  });

  it("takes a URL, an object with a weight, or local from GATEWAY_ROUTES", () => {
    const table = buildRouteTable(
      JSON.stringify({
        "/api/chat": "http://127.0.0.1:8016/",
        "/api/llm": { upstream: "https://llm.internal", weight: 25, timeoutMs: 5000, name: "llm" },
        "/api/vectors": "local",
        "/api/new/thing": { upstream: "http://127.0.0.1:9000", weight: 0 },
      }),
    );
    expect(matchRoute(table, "/api/chat/rooms")?.route.target).toMatchObject({
      kind: "upstream",
      upstream: { name: "chat", url: "http://127.0.0.1:8016", timeoutMs: 30_000, auth: "user", healthPath: "/health" },
    });
    expect(matchRoute(table, "/api/llm")?.route.target).toMatchObject({ kind: "split", percent: 25 });
    expect(matchRoute(table, "/api/vectors/q")?.route.target).toEqual({ kind: "local" });
    expect(matchRoute(table, "/api/new/thing/1")?.route.target).toEqual({ kind: "local" });
    expect(
      upstreamsOf(table)
        .map((u) => u.name)
        .sort(),
    ).toEqual(["chat", "llm"]);
  });

  it("strips the prefix on a segment boundary, the bare prefix becoming /", () => {
    const table = buildRouteTable(JSON.stringify({ "/api/chat": "http://u" }));
    expect(matchRoute(table, "/api/chat")?.rest).toBe("/");
    expect(matchRoute(table, "/api/chat/a/b")?.rest).toBe("/a/b");
    expect(matchRoute(table, "/api/chatter")).toBeUndefined();
  });

  it.each([
    ["not JSON", "{"],
    ["a bad prefix", JSON.stringify({ "api/chat": "http://u" })],
    ["a trailing slash", JSON.stringify({ "/api/chat/": "http://u" })],
    ["a non-HTTP URL", JSON.stringify({ "/api/chat": "ftp://u" })],
    ["a weight over 100", JSON.stringify({ "/api/chat": { upstream: "http://u", weight: 101 } })],
    ["an unknown field", JSON.stringify({ "/api/chat": { upstream: "http://u", retries: 3 } })],
  ])("refuses %s with a message naming the problem", (_label, value) => {
    expect(() => buildRouteTable(value)).toThrow(RouteTableError);
  });
});

describe("circuit breaker", () => {
  const policy = { failures: 3, openMs: 1000 };

  it("opens after consecutive failures, lets one probe through after the open period, and closes on success", () => {
    const b = new CircuitBreaker(policy);
    const t = 1_000_000;
    b.failure(t);
    b.failure(t);
    expect(b.allow(t)).toBe(true);
    b.failure(t);
    expect(b.allow(t + 10)).toBe(false);
    expect(b.retryAfterSeconds(t + 10)).toBe(1);
    expect(b.allow(t + 1000)).toBe(true); // the probe
    expect(b.allow(t + 1001)).toBe(false); // only one at a time
    b.success(t + 1002);
    expect(b.snapshot(t + 1003).state).toBe("closed");
  });

  it("reopens when the probe fails", () => {
    const b = new CircuitBreaker(policy);
    for (let i = 0; i < 3; i++) b.failure(0);
    expect(b.allow(1000)).toBe(true);
    b.failure(1000);
    expect(b.allow(1500)).toBe(false);
    expect(b.snapshot(1500).state).toBe("open");
  });

  it("counts a served 500 in the error rate without tripping", () => {
    const b = new CircuitBreaker(policy);
    for (let i = 0; i < 10; i++) b.served(i, i % 2 === 0);
    expect(b.snapshot(10)).toMatchObject({ state: "closed", requests: 10, errorRate: 0.5 });
  });
});

describe("forwarded headers", () => {
  const forwarded = async (headers: Record<string, string>, forwardAuthorization = false) => {
    const app = new Hono<AppEnv>();
    app.get("/x", (c) => {
      c.set("requestId", "rid-1");
      // ENVIRONMENT=test: CF-Connecting-IP is the address, as Cloudflare's edge would set it.
      c.set("config", getConfig(env));
      const sent = upstreamHeaders(c, { sub: "user-1" } as never, false, { forwardAuthorization });
      return c.json(Object.fromEntries(sent.entries()));
    });
    const res = await app.fetch(new Request("https://gw.example/x", { headers }));
    return (await res.json()) as Record<string, string>;
  };

  it("drop every look-alike of X-User-ID, the caller's Authorization, and replace X-Forwarded-For", async () => {
    const sent = await forwarded({
      x_user_id: "attacker",
      "X_User-Id": "attacker",
      "x-userid": "attacker",
      authorization: "Bearer the-callers-own-token",
      "x-forwarded-for": "10.0.0.1",
      "cf-connecting-ip": "203.0.113.9",
    });
    const names = Object.keys(sent);
    expect(names.filter((n) => n.replace(/[-_]/g, "") === "xuserid")).toEqual(["x-user-id"]);
    expect(sent["x-user-id"]).toBe("user-1");
    expect(sent.authorization).toBeUndefined();
    expect(sent["x-forwarded-for"]).toBe("203.0.113.9");
  });

  it("forward Authorization only where the route says forwardAuthorization", async () => {
    const sent = await forwarded({ authorization: "Bearer kept" }, true);
    expect(sent.authorization).toBe("Bearer kept");
  });

  it("drop hop-by-hop and Connection-named headers and the client's X-User-ID, and set the forwarding ones", async () => {
    const app = new Hono<AppEnv>();
    app.get("/x", (c) => {
      c.set("requestId", "rid-1");
      c.set("config", getConfig(env));
      const headers = upstreamHeaders(c, { sub: "user-1" } as never, false, { forwardAuthorization: false });
      return c.json(Object.fromEntries(headers.entries()));
    });
    const res = await app.fetch(
      new Request("https://gw.example/x", {
        headers: {
          connection: "close, x-private",
          "x-private": "1",
          "keep-alive": "5",
          te: "trailers",
          "x-user-id": "spoofed",
          "cf-connecting-ip": "203.0.113.9",
          "x-forwarded-for": "198.51.100.1",
          accept: "application/json",
        },
      }),
    );
    const sent = (await res.json()) as Record<string, string>;
    expect(sent["x-private"]).toBeUndefined();
    expect(sent.connection).toBeUndefined();
    expect(sent["keep-alive"]).toBeUndefined();
    expect(sent.te).toBeUndefined();
    expect(sent["x-user-id"]).toBe("user-1");
    expect(sent["x-forwarded-for"]).toBe("203.0.113.9");
    expect(sent["x-forwarded-proto"]).toBe("https");
    expect(sent["x-forwarded-host"]).toBe("gw.example");
    expect(sent["x-request-id"]).toBe("rid-1");
    expect(sent.accept).toBe("application/json");
  });
});

describe("every route's limits", () => {
  const slow = new ApiRouter("test")
    .route(
      { method: "get", path: "/slow", auth: "public", summary: "Too slow", timeoutMs: 50, responses: {} },
      async (c) => {
        await new Promise((r) => setTimeout(r, 500));
        return c.text("late");
      },
    )
    .route({ method: "get", path: "/fast", auth: "public", summary: "Fast", responses: {} }, (c) => c.text("ok"));
  const app = createGateway({ title: "t", version: "0", description: "" }, [{ prefix: "/v1", router: slow }]);
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

  it("answers 504 when a handler outlives its timeout", async () => {
    const res = await app.fetch(new Request("https://t.test/v1/slow"), env, ctx);
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("timeout");
  });

  it("limits an address without a token, with RateLimit headers on the way and 429 at the end", async () => {
    const limited = { ...env, RATE_LIMIT_IP_PER_MINUTE: "10" }; // a burst of 2
    const call = () =>
      app.fetch(
        new Request("https://t.test/v1/fast", { headers: { "cf-connecting-ip": "203.0.113.77" } }),
        limited,
        ctx,
      );
    const first = await call();
    expect(first.status).toBe(200);
    expect(first.headers.get("ratelimit-limit")).toBe("2");
    expect(first.headers.get("ratelimit-remaining")).toBe("1");
    expect((await call()).status).toBe(200);
    const third = await call();
    expect(third.status).toBe(429);
    expect(Number(third.headers.get("retry-after"))).toBeGreaterThan(0);
  });
});

describe("per-request limit leases", () => {
  it("takes a tenth of the bucket from the Durable Object at once and spends it locally", async () => {
    const router = new ApiRouter("lease").route(
      { method: "get", path: "/ping", auth: "public", summary: "Ping", responses: {} },
      (c) => c.text("pong"),
    );
    const app = createGateway({ title: "t", version: "0", description: "" }, [{ prefix: "/v1", router }]);
    const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;
    const leasing = { ...env, RATE_LIMIT_IP_PER_MINUTE: "500" }; // a bucket of 100, leases of 10
    for (let i = 0; i < 5; i++) {
      const res = await app.fetch(
        new Request("https://t.test/v1/ping", { headers: { "cf-connecting-ip": "203.0.113.200" } }),
        leasing,
        ctx,
      );
      expect(res.status).toBe(200);
    }
    // Five requests, one lease: the bucket in the Durable Object lost 10 tokens, not 5.
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("apiPerIp:203.0.113.200"));
    const tokens = await runInDurableObject(
      stub,
      (_o, state) => state.storage.kv.get<{ tokens: number }>("bucket")?.tokens,
    );
    expect(Math.floor(tokens ?? 0)).toBe(90);
  });
});
