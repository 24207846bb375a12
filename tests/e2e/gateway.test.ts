// The strangler-fig gateway over real HTTP: `wrangler dev` in front of a real Node upstream
// (tests/support/upstream.ts), routed by GATEWAY_ROUTES from the e2e global setup.

import { request } from "node:http";
import { beforeAll, describe, expect, inject, it } from "vitest";
import WebSocket from "ws";
import { signUp as signUpAt } from "../support/client";

const base = inject("workerUrl");
const upstream = inject("upstreamUrl");

const signUp = () => signUpAt(base, "gw");

type Echo = { method: string; path: string; query: string; headers: Record<string, string>; body: string };
let user: { token: string; id: string };

beforeAll(async () => {
  user = await signUp();
});

describe("the proxy", () => {
  it("strips the prefix and forwards method, query, body and the verified identity, never the client's", async () => {
    const res = await fetch(`${base}/api/chat/messages/7?x=1`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${user.token}`,
        "content-type": "application/json",
        "x-user-id": "someone-else",
        // WSGI and CGI servers read these as X-User-ID too.
        x_user_id: "attacker",
        "X_User-Id": "attacker",
        "x-forwarded-for": "10.9.8.7",
        "x-request-id": "gw-test-1",
      },
      body: JSON.stringify({ hello: "upstream" }),
    });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as Echo;
    expect(echo).toMatchObject({ method: "POST", path: "/messages/7", query: "?x=1", body: '{"hello":"upstream"}' });
    expect(echo.headers["x-user-id"]).toBe(user.id);
    expect(Object.keys(echo.headers).filter((n) => n.toLowerCase().replace(/[-_]/g, "") === "xuserid")).toEqual([
      "x-user-id",
    ]);
    // The caller's own token stays here (the route does not set forwardAuthorization); the client's claimed
    // X-Forwarded-For is replaced by the address the Worker saw.
    expect(echo.headers.authorization).toBeUndefined();
    expect(echo.headers["x-forwarded-for"]).not.toContain("10.9.8.7");
    expect(echo.headers["x-request-id"]).toBe("gw-test-1");
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(echo.headers["x-forwarded-host"]).toBe(new URL(base).host);
    expect(res.headers.get("x-request-id")).toBe("gw-test-1");
  });

  it("drops hop-by-hop headers", async () => {
    // fetch() refuses to send these, so this request goes through node:http. (Headers that a client names in
    // Connection cannot be checked here: the runtime consumes Connection before the Worker sees it.)
    const echo = await new Promise<Echo>((resolve, reject) => {
      const req = request(
        `${base}/api/chat/hop`,
        {
          headers: {
            authorization: `Bearer ${user.token}`,
            "keep-alive": "timeout=5",
            "proxy-authorization": "Basic c2VjcmV0",
            te: "trailers",
          },
        },
        (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => {
            text += chunk.toString();
          });
          res.on("end", () => resolve(JSON.parse(text) as Echo));
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(echo.path).toBe("/hop");
    for (const name of ["keep-alive", "proxy-authorization", "te"]) expect(echo.headers[name], name).toBeUndefined();
  });

  it("answers with the upstream's headers, each Set-Cookie kept, its X-Powered-By banner never", async () => {
    const res = await fetch(`${base}/api/chat/powered`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-upstream")).toBe("kept");
    expect(res.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Path=/"]);
    expect(res.headers.get("x-powered-by")).toBeNull();
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("maps the bare prefix to / as the old gateway did", async () => {
    const echo = (await (
      await fetch(`${base}/api/chat`, { headers: { authorization: `Bearer ${user.token}` } })
    ).json()) as Echo;
    expect(echo.path).toBe("/");
  });

  it("requires a token on a user route, and strips a spoofed X-User-ID on a public one", async () => {
    expect((await fetch(`${base}/api/chat/x`)).status).toBe(401);
    const res = await fetch(`${base}/api/assistant/ask`, { headers: { "x-user-id": "admin" } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Echo).headers["x-user-id"]).toBeUndefined();
    const bad = await fetch(`${base}/api/assistant/ask`, { headers: { authorization: "Bearer not.a.jwt" } });
    expect(bad.status).toBe(401);
  });

  it("answers 504 when the upstream hangs, within its timeout", async () => {
    const started = Date.now();
    const res = await fetch(`${base}/api/chat/hang`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(504);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("timeout");
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("passes an upstream 500 through and counts it", async () => {
    const res = await fetch(`${base}/api/chat/fail500`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: "upstream exploded" });
  });

  it("streams a slow body: the first bytes arrive before the upstream has finished", async () => {
    // identity: the local dev server gzips what the client accepts, and its compressor holds small chunks back.
    const res = await fetch(`${base}/api/chat/stream`, {
      headers: { authorization: `Bearer ${user.token}`, "accept-encoding": "identity" },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    expect(decoder.decode(first.value)).toContain("first chunk");
    // Only now does the upstream send the rest.
    await fetch(`${upstream}/control/release`);
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += decoder.decode(value);
    }
    expect(rest).toContain("last chunk");
  });

  it("passes WebSocket upgrades with the verified identity", async () => {
    const ws = new WebSocket(`${base.replace("http", "ws")}/api/chat/socket`, {
      headers: { authorization: `Bearer ${user.token}`, "x-user-id": "spoofed" },
    });
    const messages: string[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.on("message", (data) => {
        messages.push(data.toString());
        if (messages.length === 1) ws.send("ping");
        if (messages.length === 2) resolve();
      });
      ws.on("error", reject);
    });
    ws.close();
    expect(JSON.parse(messages[0] as string)).toEqual({ hello: "/socket", userId: user.id });
    expect(messages[1]).toBe("echo:ping");
  });

  it("retries an idempotent request once when the connection drops, and never a request with a body", async () => {
    const auth = { authorization: `Bearer ${user.token}` };
    const get = await fetch(`${base}/api/chat/drop-first/get-1`, { headers: auth });
    expect(get.status).toBe(200);
    expect(await get.json()).toMatchObject({ afterDrop: true });
    const post = await fetch(`${base}/api/chat/drop-first/post-1`, {
      method: "POST",
      headers: { ...auth, "content-type": "text/plain" },
      body: "not safe to send twice",
    });
    expect(post.status).toBe(503);
  });

  it("refuses a body over the gateway's limit with 413", async () => {
    const res = await fetch(`${base}/api/chat/upload`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/octet-stream" },
      body: new Uint8Array(2 * 1024 * 1024),
    });
    expect(res.status).toBe(413);
  });

  it("answers 503 for a legacy prefix with no upstream configured", async () => {
    const res = await fetch(`${base}/api/speech/tts`);
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/GATEWAY_ROUTES/);
  });
});

describe("circuit breaker", () => {
  it("answers 503 when the upstream refuses connections, then at once while open", async () => {
    const auth = { authorization: `Bearer ${user.token}` };
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await fetch(`${base}/api/vectors/q`, { headers: auth })).status);
    expect(statuses.every((s) => s === 503)).toBe(true);
    const open = await fetch(`${base}/api/vectors/q`, { headers: auth });
    expect(((await open.json()) as { error: { message: string } }).error.message).toMatch(/circuit open/);
    expect(Number(open.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("opens when an upstream goes away and closes again when it comes back", async () => {
    const auth = { authorization: `Bearer ${user.token}` };
    expect((await fetch(`${base}/api/analytics/ok`, { headers: auth })).status).toBe(200);
    await fetch(`${upstream}/control/flappy/stop`);
    for (let i = 0; i < 5; i++) expect((await fetch(`${base}/api/analytics/ok`, { headers: auth })).status).toBe(503);
    const open = await fetch(`${base}/api/analytics/ok`, { headers: auth });
    expect(((await open.json()) as { error: { message: string } }).error.message).toMatch(/circuit open/);
    await fetch(`${upstream}/control/flappy/start`);
    // GATEWAY_BREAKER_OPEN_MS is 1 s in the e2e suite: then one probe goes through and closes the breaker.
    await new Promise((r) => setTimeout(r, 1200));
    expect((await fetch(`${base}/api/analytics/ok`, { headers: auth })).status).toBe(200);
    expect((await fetch(`${base}/api/analytics/ok`, { headers: auth })).status).toBe(200);
  });
});

describe("weighted split", () => {
  it("sends a share of callers upstream and keeps each caller on one side", async () => {
    const sides: string[] = [];
    for (let i = 0; i < 16; i++) {
      const u = await signUp();
      const first = await fetch(`${base}/api/llm/complete`, { headers: { authorization: `Bearer ${u.token}` } });
      const again = await fetch(`${base}/api/llm/complete`, { headers: { authorization: `Bearer ${u.token}` } });
      // Upstream echoes 200; the local side has no /api/llm route yet, so 404.
      expect(again.status).toBe(first.status);
      sides.push(first.status === 200 ? "upstream" : "local");
    }
    expect(sides).toContain("upstream");
    expect(sides).toContain("local");
  });
});

describe("limits and visibility", () => {
  it("answers a flood from one user with 429 and Retry-After", async () => {
    const flooder = await signUp();
    let limited: Response | undefined;
    for (let i = 0; i < 80 && !limited; i++) {
      const res = await fetch(`${base}/api/assistant/x`, { headers: { authorization: `Bearer ${flooder.token}` } });
      if (res.status === 429) limited = res;
    }
    expect(limited?.status).toBe(429);
    expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0);
  });

  it("reports upstream health in /health (checked by the cron at start) and the route table in /v1/services", async () => {
    const health = (await (await fetch(`${base}/health`)).json()) as { services: Record<string, boolean | null> };
    expect(health.services.chat).toBe(true);
    expect(health.services.vectors).toBe(false);
    expect(health.services.database).toBe(true);

    const adminLogin = await fetch(`${base}/v1/services`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(adminLogin.status).toBe(403);
  });

  it("allows any origin and X-User-ID on legacy prefixes, as the old gateway did", async () => {
    const res = await fetch(`${base}/api/chat/x`, {
      method: "OPTIONS",
      headers: { origin: "https://old-client.example", "access-control-request-method": "POST" },
    });
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
    expect(res.headers.get("access-control-allow-headers")).toContain("X-User-ID");
  });
});
