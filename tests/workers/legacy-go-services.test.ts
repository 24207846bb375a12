// go-services/memory-service and go-services/api-gateway, replayed route by route from their source files
// (main.go, main_test.go, README.md) in their request shapes, at the old gateway's prefixes and at each service's own
// base path (docs/legacy.md). auth-service is replayed in users.test.ts, websocket-hub in legacy-hub.test.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { CONTEXT_LIMITS } from "../../src/lib/memory/contexts";
import { api, json, registerUser, type Tokens } from "./support";

type ErrorJson = { error: { code: string; message: string; requestId: string } };

let me: Tokens;
let other: Tokens;

beforeAll(async () => {
  [me, other] = await Promise.all([registerUser(), registerUser()]);
});

async function expectError(res: Response, status: number, code: string): Promise<void> {
  expect(res.status).toBe(status);
  expect(((await json(res)) as ErrorJson).error.code).toBe(code);
}

/** Go's json.Marshal of memory-service's Context struct: every field, zero values included. */
const goContext = (fields: Record<string, unknown>) => ({
  id: "",
  user_id: "",
  conversation_id: "",
  summary: "",
  memories: null,
  created_at: "0001-01-01T00:00:00Z",
  updated_at: "0001-01-01T00:00:00Z",
  ...fields,
});
const CONTEXT_FIELDS = ["conversation_id", "created_at", "id", "memories", "summary", "updated_at", "user_id"];

// memory-service's routes at its own base (/memory-service) and behind the old gateway (/api/memories, /api/context).
const BASES = [
  { name: "memory-service's base", memories: "/memory-service/memories", contexts: "/memory-service/contexts" },
  { name: "the old gateway's prefixes", memories: "/api/memories", contexts: "/api/context" },
];

describe.each(BASES)("memory-service at $name", ({ memories, contexts }) => {
  it("replays main_test.go: store, search, get, delete, store and get a context", async () => {
    const conv = `conv-${crypto.randomUUID()}`;
    // TestStoreMemory
    const stored = await api("POST", memories, {
      token: me.accessToken,
      headers: { "X-User-ID": "test-user-123" },
      body: { type: "test", content: `This is a test memory ${conv}`, tags: ["test", "unit-test"], metadata: null },
    });
    expect(stored.status).toBe(200);
    const memory = await json<{ id: string; user_id: string }>(stored);
    expect(memory.id).not.toBe("");
    expect(memory.user_id).toBe(me.user.id);
    // TestSearchMemories: {query, limit, type} → {memories, count, query}
    const search = await api("POST", `${memories}/search`, {
      token: me.accessToken,
      body: { query: conv, limit: 10, type: "test" },
    });
    expect(search.status).toBe(200);
    const found = await json<{ memories: { id: string }[]; count: number }>(search);
    expect(found.memories.map((m) => m.id)).toEqual([memory.id]);
    expect(found.count).toBe(1);
    // TestGetMemory (an id that exists, then one that never could: 404, as the test allows)
    expect((await api("GET", `${memories}/${memory.id}`, { token: me.accessToken })).status).toBe(200);
    await expectError(await api("GET", `${memories}/test-memory-id`, { token: me.accessToken }), 404, "not_found");
    // TestDeleteMemory: 204, for a memory there or not
    expect((await api("DELETE", `${memories}/${memory.id}`, { token: me.accessToken })).status).toBe(204);
    expect((await api("DELETE", `${memories}/test-memory-id`, { token: me.accessToken })).status).toBe(204);
    await expectError(await api("GET", `${memories}/${memory.id}`, { token: me.accessToken }), 404, "not_found");
    // TestStoreContext: the whole struct as Go encodes it
    const ctx = await api("POST", contexts, {
      token: me.accessToken,
      headers: { "X-User-ID": "test-user-123" },
      body: goContext({
        conversation_id: conv,
        summary: "Test conversation summary",
        memories: ["mem-1", "mem-2"],
        user_id: other.user.id,
      }),
    });
    expect(ctx.status).toBe(200);
    const context = await json<Record<string, unknown>>(ctx);
    expect(Object.keys(context).sort()).toEqual(CONTEXT_FIELDS);
    expect(context).toMatchObject({
      user_id: me.user.id,
      conversation_id: conv,
      summary: "Test conversation summary",
      memories: ["mem-1", "mem-2"],
    });
    expect(context.id).not.toBe("");
    expect(Date.parse(String(context.created_at))).toBeGreaterThan(Date.now() - 600_000);
    // TestGetContext
    const got = await api("GET", `${contexts}/${conv}`, { token: me.accessToken });
    expect(got.status).toBe(200);
    expect(await json(got)).toEqual(context);
  });

  it("answers TestAuthorizationRequired's six routes with 401 when only X-User-ID is sent", async () => {
    const routes: [string, string][] = [
      ["POST", memories],
      ["POST", `${memories}/search`],
      ["GET", `${memories}/123`],
      ["DELETE", `${memories}/123`],
      ["POST", contexts],
      ["GET", `${contexts}/123`],
    ];
    for (const [method, path] of routes) {
      const res = await api(method, path, { headers: { "X-User-ID": "test-user-123" } });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(((await json(res)) as ErrorJson).error.code).toBe("unauthorized");
    }
  });
});

describe("memory-service's contexts", () => {
  it("answers the latest store of a conversation, with a new id each time", async () => {
    const conv = `conv-${crypto.randomUUID()}`;
    const first = await json<{ id: string }>(
      await api("POST", "/api/context", { token: me.accessToken, body: { conversation_id: conv, summary: "one" } }),
    );
    const second = await json<{ id: string; memories: string[] }>(
      await api("POST", "/api/context", { token: me.accessToken, body: { conversation_id: conv, summary: "two" } }),
    );
    expect(second.id).not.toBe(first.id);
    // An absent (or null) list of memories is an empty one.
    expect(second.memories).toEqual([]);
    const latest = await json<{ id: string; summary: string }>(
      await api("GET", `/memory-service/contexts/${conv}`, { token: me.accessToken }),
    );
    expect(latest).toMatchObject({ id: second.id, summary: "two" });
  });

  it("keeps each user's contexts their own: another user's conversation is 404", async () => {
    const conv = `conv-${crypto.randomUUID()}`;
    await api("POST", "/api/context", { token: me.accessToken, body: { conversation_id: conv, summary: "mine" } });
    await expectError(await api("GET", `/api/context/${conv}`, { token: other.accessToken }), 404, "not_found");
    await expectError(await api("GET", "/api/context/never-stored", { token: me.accessToken }), 404, "not_found");
  });

  it("refuses a context without conversation_id or over its limits with 400", async () => {
    const tooMany = Array.from({ length: CONTEXT_LIMITS.maxMemories + 1 }, (_, i) => `mem-${i}`);
    const bodies = [
      goContext({ summary: "no conversation" }),
      { conversation_id: "x".repeat(CONTEXT_LIMITS.conversationIdMaxLength + 1) },
      { conversation_id: "c", summary: "s".repeat(CONTEXT_LIMITS.summaryMaxLength + 1) },
      { conversation_id: "c", memories: tooMany },
      { conversation_id: "c", memories: [""] },
      { conversation_id: "bad\u0000id" },
    ];
    for (const body of bodies) {
      await expectError(await api("POST", "/api/context", { token: me.accessToken, body }), 400, "invalid_request");
    }
  });
});

describe("memory-service's README routes", () => {
  it("lists your newest memories with count and total (GET /memories?limit=)", async () => {
    const u = await registerUser();
    for (const content of ["first", "second", "third"]) {
      await api("POST", "/api/memories", { token: u.accessToken, body: { content } });
    }
    const res = await api("GET", "/memory-service/memories?limit=2", { token: u.accessToken });
    expect(res.status).toBe(200);
    const page = await json<{ memories: { content: string; user_id: string }[]; count: number; total: number }>(res);
    expect(page.memories.map((m) => m.content)).toEqual(["third", "second"]);
    expect(page).toMatchObject({ count: 2, total: 3 });
    expect((await api("GET", "/api/memories?limit=0", { token: u.accessToken })).status).toBe(400);
    expect((await api("GET", "/api/memories")).status).toBe(401);
  });

  it("answers PUT /memories/{id} with 405: memories do not change", async () => {
    const res = await api("PUT", `/api/memories/${crypto.randomUUID()}`, {
      token: me.accessToken,
      body: { content: "changed" },
    });
    await expectError(res, 405, "method_not_allowed");
  });

  it("answers GET /health with its shape: status, each store as a boolean, a unix timestamp", async () => {
    const res = await api("GET", "/memory-service/health");
    expect(res.status).toBe(200);
    const health = await json<{ status: string; services: Record<string, boolean>; timestamp: number }>(res);
    expect(health).toEqual({
      status: "healthy",
      services: { database: true, redis: true, weaviate: true },
      timestamp: expect.any(Number),
    });
    expect(Math.abs(health.timestamp - Date.now() / 1000)).toBeLessThan(600);
  });
});

describe("api-gateway (go-services/api-gateway/main.go)", () => {
  it("answers its GET /health at /api-gateway/health: healthy, a unix timestamp, services as booleans", async () => {
    const res = await api("GET", "/api-gateway/health");
    expect(res.status).toBe(200);
    const health = await json<{ status: string; timestamp: number; services: Record<string, boolean | null> }>(res);
    expect(health.status).toBe("healthy");
    expect(Math.abs(health.timestamp - Date.now() / 1000)).toBeLessThan(600);
    expect(health.services).toMatchObject({ database: true });
    // Tessera's own /health keeps the root-level gateway's shape on the same path.
    const own = await json<{ status: string; timestamp: string }>(await api("GET", "/health"));
    expect(own.status).toBe("ok");
    expect(Number.isNaN(Date.parse(own.timestamp))).toBe(false);
  });

  it("serves /api/memory (GET, POST) over the real store, and needs a real token", async () => {
    const u = await registerUser();
    const stored = await api("POST", "/api/memory", { token: u.accessToken, body: { content: "gw", type: "" } });
    expect(await json(stored)).toEqual({ success: true, id: expect.any(String) });
    expect(await json(await api("GET", "/api/memory", { token: u.accessToken }))).toMatchObject({ total: 1 });
    // The old authMiddleware let any Authorization or X-API-Key header through.
    expect((await api("GET", "/api/memory", { headers: { "X-API-Key": "anything" } })).status).toBe(401);
    expect((await api("GET", "/api/memory", { headers: { Authorization: "Bearer not-a-token" } })).status).toBe(401);
  });

  it("refuses the unauthenticated /ws echo: /ws is the authenticated hub", async () => {
    expect((await api("GET", "/ws", { headers: { Upgrade: "websocket" } })).status).toBe(401);
  });

  // The proxy routes of main.go whose services have not moved: the route table answers 503 (an upstream can be
  // configured in GATEWAY_ROUTES, docs/gateway.md); the prefixes it never had answer 404.
  it.each([
    ["POST", "/api/chat"],
    ["GET", "/api/vision/models"],
    ["POST", "/api/vectors/search"],
    ["POST", "/api/llm/chat"],
    ["GET", "/api/analytics/summary"],
    // The root-level gateway's other prefixes of services that have not moved.
    ["POST", "/api/speech/synthesize"],
    ["POST", "/api/assistant/ask"],
    ["GET", "/api/monitoring/status"],
  ])("answers %s %s, a service that has not moved, with 503 in the error shape", async (method, path) => {
    const res = await api(method, path, { token: me.accessToken, body: method === "POST" ? {} : undefined });
    expect(res.status).toBe(503);
    expect(((await json(res)) as ErrorJson).error.code).toBe("unavailable");
  });

  it.each([
    ["GET", "/api/conversations/1"],
    ["POST", "/api/embed/text"],
    ["GET", "/api/documents/1"],
    ["POST", "/api/search/query"],
    ["GET", "/api/ml/models"],
    ["GET", "/api/metrics/summary"],
    ["GET", "/api/services/list"],
    ["GET", "/api/legacy/anything"],
    ["GET", "/api/test"],
    ["GET", "/api-test"],
    ["POST", "/health/refresh"],
  ])("answers %s %s (not served) with 404 in the error shape", async (method, path) => {
    await expectError(await api(method, path, { token: me.accessToken }), 404, "not_found");
  });
});
