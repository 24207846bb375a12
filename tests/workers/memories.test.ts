// /v1/memories and the legacy /api/memory adapter: Postgres full-text search, the KV cache, the limits.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { db } from "../../src/lib/db/client";
import { MEMORY_CACHE_PREFIX } from "../../src/lib/memory/keys";
import type { Memory, SearchHitSchema } from "../../src/lib/memory/memories";
import { MEMORY_LIMITS } from "../../src/lib/memory/memories";
import { api, type ErrorJson, json, registerUser, type Tokens } from "./support";

type Page = { memories: z.output<typeof SearchHitSchema>[]; nextCursor: string | null };

let me: Tokens;
let other: Tokens;

beforeAll(async () => {
  [me, other] = await Promise.all([registerUser(), registerUser()]);
});

async function remember(body: Record<string, unknown>, token = me.accessToken): Promise<Memory> {
  const res = await api("POST", "/v1/memories", { token, body: { type: "fact", ...body } });
  if (res.status !== 201) throw new Error(`create failed: ${res.status} ${await res.text()}`);
  return json<Memory>(res);
}

async function search(qs: string, token = me.accessToken): Promise<Page> {
  const res = await api("GET", `/v1/memories/search?${qs}`, { token });
  if (res.status !== 200) throw new Error(`search failed: ${res.status} ${await res.text()}`);
  return json<Page>(res);
}

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  expect(res.status).toBe(status);
  const body = await json<ErrorJson>(res);
  expect(body.error.code).toBe(code);
  return body;
}

/** Fixture timestamps are set in SQL so that "newer" does not depend on how fast the requests ran. */
async function setCreatedAt(id: string, minutesAgo: number): Promise<void> {
  await db(env).execute(
    sql`update memories set created_at = now() - make_interval(mins => ${minutesAgo}) where id = ${id}`,
  );
}

/** A fresh word per test, so that one test's memories never match another's search. */
let wordCounter = 0;
const freshWord = () => `zq${Date.now().toString(36)}x${++wordCounter}`;

describe("create, read, delete", () => {
  it("stores a memory and returns it with 201; reading it back gives the same", async () => {
    const created = await remember({
      type: "preference",
      content: "Prefers dark roast coffee",
      tags: ["coffee", "taste", "coffee"],
      metadata: { source: "chat" },
    });
    expect(created).toMatchObject({
      userId: me.user.id,
      type: "preference",
      content: "Prefers dark roast coffee",
      tags: ["coffee", "taste"],
      metadata: { source: "chat" },
      accessCount: 0,
      expiresAt: null,
      lastAccessedAt: null,
    });
    const res = await api("GET", `/v1/memories/${created.id}`, { token: me.accessToken });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(created);
  });

  it("reads from the KV cache without Postgres, and from Postgres (then caches) on a miss", async () => {
    const created = await remember({ content: "original content" });
    await db(env).execute(sql`update memories set content = 'changed in postgres' where id = ${created.id}`);
    // Written through at create: the cached copy answers, so Postgres was not read.
    const hit = await json<Memory>(await api("GET", `/v1/memories/${created.id}`, { token: me.accessToken }));
    expect(hit.content).toBe("original content");

    await env.MEMORY.delete(`${MEMORY_CACHE_PREFIX}${created.id}`);
    const miss = await json<Memory>(await api("GET", `/v1/memories/${created.id}`, { token: me.accessToken }));
    expect(miss.content).toBe("changed in postgres");
    // The miss filled the cache again (after the response, through waitUntil).
    await expect
      .poll(() => env.MEMORY.get(`${MEMORY_CACHE_PREFIX}${created.id}`, "json"))
      .toMatchObject({
        content: "changed in postgres",
      });
  });

  it("deletes a memory from Postgres and the cache: then 404 on read and absent from search", async () => {
    const word = freshWord();
    const created = await remember({ content: `delete me ${word}` });
    expect((await api("DELETE", `/v1/memories/${created.id}`, { token: me.accessToken })).status).toBe(204);
    await expectError(await api("GET", `/v1/memories/${created.id}`, { token: me.accessToken }), 404, "not_found");
    expect(await env.MEMORY.get(`${MEMORY_CACHE_PREFIX}${created.id}`)).toBeNull();
    expect((await search(`q=${word}`)).memories).toEqual([]);
    await expectError(await api("DELETE", `/v1/memories/${created.id}`, { token: me.accessToken }), 404, "not_found");
  });

  it("answers another user's memory with 404 for read and delete, and leaves it in place", async () => {
    const mine = await remember({ content: "private thought" });
    await expectError(await api("GET", `/v1/memories/${mine.id}`, { token: other.accessToken }), 404, "not_found");
    await expectError(await api("DELETE", `/v1/memories/${mine.id}`, { token: other.accessToken }), 404, "not_found");
    // Also when the other user's read misses the cache and goes to Postgres.
    await env.MEMORY.delete(`${MEMORY_CACHE_PREFIX}${mine.id}`);
    await expectError(await api("GET", `/v1/memories/${mine.id}`, { token: other.accessToken }), 404, "not_found");
    expect((await api("GET", `/v1/memories/${mine.id}`, { token: me.accessToken })).status).toBe(200);
  });

  it("needs a token (401) and a UUID id (400)", async () => {
    expect((await api("GET", "/v1/memories/search?q=x")).status).toBe(401);
    expect((await api("POST", "/v1/memories", { body: { type: "fact", content: "x" } })).status).toBe(401);
    await expectError(await api("GET", "/v1/memories/not-a-uuid", { token: me.accessToken }), 400, "invalid_request");
  });
});

describe("limits on a new memory", () => {
  const tooMany = (n: number) => Array.from({ length: n }, (_, i) => `tag${i}`);
  it.each([
    ["1,000 tags", { content: "x", tags: tooMany(1000) }],
    [`${MEMORY_LIMITS.maxTags + 1} tags`, { content: "x", tags: tooMany(MEMORY_LIMITS.maxTags + 1) }],
    ["a 65-character tag", { content: "x", tags: ["t".repeat(MEMORY_LIMITS.tagMaxLength + 1)] }],
    ["an empty tag", { content: "x", tags: [" "] }],
    ["a tag with a control character", { content: "x", tags: ["a\u0007b"] }],
    ["empty content", { content: "" }],
    ["content over the limit", { content: "c".repeat(MEMORY_LIMITS.contentMaxLength + 1) }],
    ["a bad type", { type: "no spaces allowed", content: "x" }],
    ["a ttl of 0", { content: "x", ttl: 0 }],
    ["oversized metadata", { content: "x", metadata: { blob: "m".repeat(9000) } }],
    ["an unknown field", { content: "x", user_id: "someone-else" }],
  ])("refuses %s with 400", async (_label, body) => {
    const res = await api("POST", "/v1/memories", { token: me.accessToken, body: { type: "fact", ...body } });
    await expectError(res, 400, "invalid_request");
  });

  it(`accepts exactly ${MEMORY_LIMITS.maxTags} tags and ${MEMORY_LIMITS.contentMaxLength} characters`, async () => {
    const created = await remember({ content: "c".repeat(MEMORY_LIMITS.contentMaxLength), tags: tooMany(32) });
    expect(created.tags).toHaveLength(MEMORY_LIMITS.maxTags);
  });
});

describe("search", () => {
  it("ranks a tag match above a content match, then newer first, with both at the top", async () => {
    const w = freshWord();
    const both = await remember({ content: `${w} in the content and the tags`, tags: [w] });
    const tagOld = await remember({ content: "notes about soil", tags: [w, "garden"] });
    const contentOld = await remember({ content: `my ${w} journal` });
    const tagNew = await remember({ content: "compost heap", tags: [w] });
    const contentNew = await remember({ content: `${w} tips for spring` });
    await remember({ content: "nothing relevant here", tags: ["unrelated"] });
    await remember({ content: `${w} belongs to someone else` }, other.accessToken);
    // Oldest to newest: both, tagOld, contentOld, tagNew, contentNew.
    for (const [m, minutesAgo] of [
      [both, 50],
      [tagOld, 40],
      [contentOld, 30],
      [tagNew, 20],
      [contentNew, 10],
    ] as const) {
      await setCreatedAt(m.id, minutesAgo);
    }
    const page = await search(`q=${w}`);
    expect(page.memories.map((m) => m.id)).toEqual([both.id, tagNew.id, tagOld.id, contentNew.id, contentOld.id]);
    const ranks = page.memories.map((m) => m.rank);
    expect(ranks).toEqual([...ranks].sort((a, b) => b - a));
    expect(ranks[1]).toBe(ranks[2]); // the two tag-only matches tie on rank: recency decided
    expect(ranks[2]).toBeGreaterThan(ranks[3] as number); // a tag match beats a content match
    expect(page.nextCursor).toBeNull();
  });

  it("uses the query: stems words, needs every word, and finds nothing for an unknown word", async () => {
    const w = freshWord();
    const garden = await remember({ content: `${w} gardening in spring`, tags: ["plants"] });
    await remember({ content: `${w} cooking pasta` });
    expect((await search(`q=${w}%20gardens`)).memories.map((m) => m.id)).toEqual([garden.id]);
    expect((await search(`q=${w}%20plant`)).memories.map((m) => m.id)).toEqual([garden.id]);
    expect((await search(`q=${w}`)).memories).toHaveLength(2);
    expect((await search(`q=${freshWord()}`)).memories).toEqual([]);
  });

  it("adds one to each hit's access count (and only the hits'), in one update per page", async () => {
    const w = freshWord();
    const hit = await remember({ content: `${w} remembered` });
    const miss = await remember({ content: "never searched for" });
    const first = await search(`q=${w}`);
    expect(first.memories[0]).toMatchObject({ id: hit.id, accessCount: 1 });
    expect(first.memories[0]?.lastAccessedAt).not.toBeNull();
    expect((await search(`q=${w}`)).memories[0]?.accessCount).toBe(2);
    const rows = await db(env).execute<{ id: string; access_count: number }>(
      sql`select id, access_count from memories where id in (${hit.id}, ${miss.id})`,
    );
    const counts = Object.fromEntries(rows.rows.map((r) => [r.id, Number(r.access_count)]));
    expect(counts).toEqual({ [hit.id]: 2, [miss.id]: 0 });
  });

  it("never returns an expired memory, in search or by id", async () => {
    const w = freshWord();
    const expiring = await remember({ content: `${w} short lived`, ttl: 3600 });
    const lasting = await remember({ content: `${w} long lived` });
    expect(expiring.expiresAt).not.toBeNull();
    expect((await search(`q=${w}`)).memories).toHaveLength(2);
    await db(env).execute(sql`update memories set expires_at = now() - interval '1 second' where id = ${expiring.id}`);
    expect((await search(`q=${w}`)).memories.map((m) => m.id)).toEqual([lasting.id]);
    // The cached copy still says it expires in an hour; once it is gone from KV, Postgres says 404.
    await env.MEMORY.delete(`${MEMORY_CACHE_PREFIX}${expiring.id}`);
    await expectError(await api("GET", `/v1/memories/${expiring.id}`, { token: me.accessToken }), 404, "not_found");
  });

  it("never returns a memory past its ttl by id, even from the cache", async () => {
    const short = await remember({ content: "one second", ttl: 1 });
    // Under KV's 60-second minimum the memory is not cached at all, so nothing can outlive it there.
    expect(await env.MEMORY.get(`${MEMORY_CACHE_PREFIX}${short.id}`)).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await expectError(await api("GET", `/v1/memories/${short.id}`, { token: me.accessToken }), 404, "not_found");
  });

  it("pages with nextCursor in the same order as one page, and refuses a forged cursor", async () => {
    const w = freshWord();
    for (let i = 0; i < 5; i++) await remember({ content: `${w} item ${i}`, tags: i % 2 ? [w] : [] });
    const whole = (await search(`q=${w}&limit=100`)).memories.map((m) => m.id);
    expect(whole).toHaveLength(5);
    const paged: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs: string = `q=${w}&limit=2${cursor ? `&cursor=${cursor}` : ""}`;
      const page: Page = await search(qs);
      paged.push(...page.memories.map((m) => m.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 10);
    expect(paged).toEqual(whole);
    expect(pages).toBe(3);
    await expectError(
      await api("GET", `/v1/memories/search?q=${w}&cursor=abc`, { token: me.accessToken }),
      400,
      "invalid_request",
    );
  });

  it("filters by type and by tags (all of them)", async () => {
    const w = freshWord();
    const a = await remember({ type: "episode", content: `${w} one`, tags: ["red", "blue"] });
    const b = await remember({ type: "fact", content: `${w} two`, tags: ["red"] });
    const ids = async (qs: string) => (await search(`q=${w}&${qs}`)).memories.map((m) => m.id).sort();
    expect(await ids("type=episode")).toEqual([a.id]);
    expect(await ids("tags=red")).toEqual([a.id, b.id].sort());
    expect(await ids("tags=red,blue")).toEqual([a.id]);
    expect(await ids("tags=green")).toEqual([]);
  });

  it.each([
    ["a missing q", ""],
    ["an empty q", "q="],
    ["a blank q", "q=%20%20"],
    ["a 10,000-character q", `q=${"a".repeat(10_000)}`],
    [`a q of ${MEMORY_LIMITS.queryMaxLength + 1} characters`, `q=${"a".repeat(MEMORY_LIMITS.queryMaxLength + 1)}`],
    ["a limit over 100", "q=x&limit=101"],
  ])("refuses %s with 400", async (_label, qs) => {
    const body = await expectError(
      await api("GET", `/v1/memories/search?${qs}`, { token: me.accessToken }),
      400,
      "invalid_request",
    );
    expect(body.error.issues?.[0]?.path[0]).toBe("query");
  });

  it(`accepts a query of exactly ${MEMORY_LIMITS.queryMaxLength} characters`, async () => {
    expect((await search(`q=${"a".repeat(MEMORY_LIMITS.queryMaxLength)}`)).memories).toEqual([]);
  });
});

describe("legacy /api/memory", () => {
  it("stores with {status:'stored', memory} in the old shape, as the token's user whatever X-User-ID says", async () => {
    const res = await api("POST", "/api/memory/memories", {
      token: me.accessToken,
      headers: { "X-User-ID": other.user.id },
      body: { type: "conversation", content: "legacy hello", tags: ["legacy"], metadata: { v: 1 } },
    });
    expect(res.status).toBe(200);
    const body = await json<{ status: string; memory: Record<string, unknown> }>(res);
    expect(body.status).toBe("stored");
    expect(Object.keys(body.memory).sort()).toEqual(
      ["access_count", "content", "created_at", "id", "metadata", "tags", "type", "user_id"].sort(),
    );
    expect(body.memory).toMatchObject({
      user_id: me.user.id,
      type: "conversation",
      content: "legacy hello",
      tags: ["legacy"],
      metadata: { v: 1 },
      access_count: 0,
    });
    // The same memory through /v1: one implementation.
    const v1 = await json<Memory>(await api("GET", `/v1/memories/${body.memory.id}`, { token: me.accessToken }));
    expect(v1.content).toBe("legacy hello");
  });

  it("searches with {memories, count, query}, really using q, and ignores X-User-ID", async () => {
    const w = freshWord();
    await remember({ content: `${w} mine` });
    await remember({ content: `${w} theirs` }, other.accessToken);
    const res = await api("GET", `/api/memory/memories/search?q=${w}&limit=10`, {
      token: me.accessToken,
      headers: { "X-User-ID": other.user.id },
    });
    expect(res.status).toBe(200);
    const body = await json<{
      memories: { content: string; user_id: string; access_count: number }[];
      count: number;
      query: string;
    }>(res);
    expect(body).toMatchObject({ count: 1, query: w });
    expect(body.memories).toEqual([
      expect.objectContaining({ content: `${w} mine`, user_id: me.user.id, access_count: 1 }),
    ]);
  });

  it("refuses a legacy search without q with 400 and an anonymous call with 401", async () => {
    await expectError(
      await api("GET", "/api/memory/memories/search", { token: me.accessToken }),
      400,
      "invalid_request",
    );
    expect((await api("GET", "/api/memory/memories/search?q=x", { headers: { "X-User-ID": me.user.id } })).status).toBe(
      401,
    );
    expect(
      (
        await api("POST", "/api/memory/memories", {
          headers: { "X-User-ID": me.user.id },
          body: { type: "t", content: "c" },
        })
      ).status,
    ).toBe(401);
  });
});

describe("legacy bare /api/memory (the old gateway's own handler)", () => {
  it("stores {content, type} → {success: true, id}, and the id is a real memory of the token's user", async () => {
    const res = await api("POST", "/api/memory", {
      token: me.accessToken,
      headers: { "X-User-ID": other.user.id },
      body: { content: "gateway memory", type: "note" },
    });
    expect(res.status).toBe(200);
    const body = await json<{ success: boolean; id: string }>(res);
    expect(Object.keys(body).sort()).toEqual(["id", "success"]);
    expect(body.success).toBe(true);
    const v1 = await json<Memory>(await api("GET", `/v1/memories/${body.id}`, { token: me.accessToken }));
    expect(v1).toMatchObject({ content: "gateway memory", type: "note", userId: me.user.id });
  });

  it("lists the caller's newest memories with the real total (the old stub always answered [] and 0)", async () => {
    const u = await registerUser();
    for (const content of ["first", "second", "third"]) {
      await remember({ content }, u.accessToken);
    }
    await remember({ content: "someone else's" });
    const res = await api("GET", "/api/memory?limit=2", { token: u.accessToken });
    expect(res.status).toBe(200);
    const body = await json<{ memories: { content: string; user_id: string }[]; total: number }>(res);
    expect(body.total).toBe(3);
    expect(body.memories.map((m) => m.content)).toEqual(["third", "second"]);
    expect(body.memories.every((m) => m.user_id === u.user.id)).toBe(true);
  });

  it("refuses an empty content or a bad limit with 400, and a call without a token with 401", async () => {
    await expectError(
      await api("POST", "/api/memory", { token: me.accessToken, body: { content: "" } }),
      400,
      "invalid_request",
    );
    await expectError(await api("GET", "/api/memory?limit=0", { token: me.accessToken }), 400, "invalid_request");
    expect((await api("GET", "/api/memory", { headers: { Authorization: "Bearer x" } })).status).toBe(401);
    expect((await api("POST", "/api/memory", { headers: { "X-API-Key": "x" }, body: { content: "c" } })).status).toBe(
      401,
    );
  });
});

describe("legacy /api/memories (memory-service behind the old gateway)", () => {
  // Go's json.Marshal of memory-service's Memory and MemoryQuery structs: every field, zero values included.
  const goMemory = (fields: Record<string, unknown>) => ({
    id: "",
    user_id: "",
    type: "",
    content: "",
    metadata: null,
    tags: null,
    created_at: "0001-01-01T00:00:00Z",
    updated_at: "0001-01-01T00:00:00Z",
    access_count: 0,
    last_access: null,
    ...fields,
  });
  const SERVICE_FIELDS = [
    "access_count",
    "content",
    "created_at",
    "id",
    "last_access",
    "metadata",
    "tags",
    "type",
    "updated_at",
    "user_id",
  ];

  async function store(body: Record<string, unknown>, token = me.accessToken) {
    const res = await api("POST", "/api/memories", { token, headers: { "X-User-ID": other.user.id }, body });
    expect(res.status).toBe(200);
    return json<Record<string, unknown>>(res);
  }

  it("stores TestStoreMemory's body and answers the memory itself, as the token's user whatever X-User-ID says", async () => {
    const w = freshWord();
    const body = await store(
      goMemory({
        type: "test",
        content: `This is a test memory ${w}`,
        tags: ["test", "unit-test"],
        metadata: { source: "unit-test" },
        user_id: other.user.id,
      }),
    );
    expect(Object.keys(body).sort()).toEqual(SERVICE_FIELDS);
    expect(body).toMatchObject({
      user_id: me.user.id,
      type: "test",
      content: `This is a test memory ${w}`,
      tags: ["test", "unit-test"],
      metadata: { source: "unit-test" },
      access_count: 0,
      last_access: null,
      updated_at: body.created_at,
    });
    expect(body.id).not.toBe("");
    const v1 = await json<Memory>(await api("GET", `/v1/memories/${body.id}`, { token: me.accessToken }));
    expect(v1.content).toBe(`This is a test memory ${w}`);
  });

  it('stores a memory with no type (Go sends "") and null tags and metadata', async () => {
    const body = await store(goMemory({ content: "typeless" }));
    expect(body).toMatchObject({ type: "memory", tags: [], metadata: {}, content: "typeless" });
  });

  it("searches with POST {query, type, limit} → {memories, count, query}, counting the access", async () => {
    const w = freshWord();
    await store(goMemory({ type: "test", content: `${w} test search` }));
    await store(goMemory({ type: "other", content: `${w} other type` }));
    await store(goMemory({ type: "test", content: `${w} theirs` }), other.accessToken);
    const res = await api("POST", "/api/memories/search", {
      token: me.accessToken,
      headers: { "X-User-ID": other.user.id },
      body: { user_id: other.user.id, query: w, limit: 10, type: "test", start_date: "0001-01-01T00:00:00Z" },
    });
    expect(res.status).toBe(200);
    const body = await json<{ memories: Record<string, unknown>[]; count: number; query: Record<string, unknown> }>(
      res,
    );
    expect(body.count).toBe(1);
    expect(body.query).toMatchObject({ query: w, limit: 10, type: "test", user_id: me.user.id });
    expect(body.memories).toHaveLength(1);
    expect(Object.keys(body.memories[0] ?? {}).sort()).toEqual(SERVICE_FIELDS);
    expect(body.memories[0]).toMatchObject({ content: `${w} test search`, user_id: me.user.id, access_count: 1 });
    expect(body.memories[0]?.last_access).toEqual(expect.any(String));
  });

  it("searches by tags (all must be present) with the default limit of 20", async () => {
    const w = freshWord();
    await store(goMemory({ content: `${w} tagged`, tags: ["alpha", "beta"] }));
    await store(goMemory({ content: `${w} half`, tags: ["alpha"] }));
    const res = await api("POST", "/api/memories/search", {
      token: me.accessToken,
      body: { query: w, tags: ["alpha", "beta"] },
    });
    const body = await json<{ memories: { content: string }[]; query: { limit: number } }>(res);
    expect(body.memories.map((m) => m.content)).toEqual([`${w} tagged`]);
    expect(body.query.limit).toBe(20);
  });

  it("refuses a search without query, with an offset, or over the limit, with 400", async () => {
    for (const body of [{}, { query: "" }, { query: "x", offset: 10 }, { query: "x", limit: 101 }]) {
      await expectError(
        await api("POST", "/api/memories/search", { token: me.accessToken, body }),
        400,
        "invalid_request",
      );
    }
  });

  it("gets and deletes by id; another user's memory is 404 to get and untouched by a delete (204, as memory-service)", async () => {
    const mine = await store(goMemory({ content: "to forget" }));
    const got = await api("GET", `/api/memories/${mine.id}`, { token: me.accessToken });
    expect(got.status).toBe(200);
    expect(await json(got)).toEqual(mine);
    expect((await api("GET", `/api/memories/${mine.id}`, { token: other.accessToken })).status).toBe(404);
    expect((await api("DELETE", `/api/memories/${mine.id}`, { token: other.accessToken })).status).toBe(204);
    expect((await api("GET", `/api/memories/${mine.id}`, { token: me.accessToken })).status).toBe(200);
    expect((await api("DELETE", `/api/memories/${mine.id}`, { token: me.accessToken })).status).toBe(204);
    await expectError(await api("GET", `/api/memories/${mine.id}`, { token: me.accessToken }), 404, "not_found");
    // TestDeleteMemory: a delete of what is already gone is 204, as memory-service answered.
    expect((await api("DELETE", `/api/memories/${mine.id}`, { token: me.accessToken })).status).toBe(204);
  });

  it("answers TestGetMemory's non-UUID id with 404 and TestDeleteMemory's with 204", async () => {
    await expectError(await api("GET", "/api/memories/test-memory-id", { token: me.accessToken }), 404, "not_found");
    expect((await api("DELETE", "/api/memories/test-memory-id", { token: me.accessToken })).status).toBe(204);
  });

  it("answers TestAuthorizationRequired's routes with 401 when only X-User-ID is sent", async () => {
    const id = crypto.randomUUID();
    const routes: [string, string, unknown?][] = [
      ["POST", "/api/memories", { content: "x" }],
      ["POST", "/api/memories/search", { query: "x" }],
      ["GET", `/api/memories/${id}`],
      ["DELETE", `/api/memories/${id}`],
    ];
    for (const [method, path, body] of routes) {
      const res = await api(method, path, { headers: { "X-User-ID": me.user.id }, body });
      expect(res.status, `${method} ${path}`).toBe(401);
    }
  });
});

describe("OpenAPI", () => {
  it("documents every memory route with its access and input", async () => {
    const doc = await json<{ paths: Record<string, Record<string, { security?: unknown[]; parameters?: unknown[] }>> }>(
      await api("GET", "/openapi.json"),
    );
    const expected: [string, string][] = [
      ["/v1/memory/{namespace}", "get"],
      ["/v1/memory/{namespace}/batch", "post"],
      ["/v1/memory/{namespace}/{key}", "put"],
      ["/v1/memory/{namespace}/{key}", "get"],
      ["/v1/memory/{namespace}/{key}", "delete"],
      ["/v1/memories", "post"],
      ["/v1/memories/search", "get"],
      ["/v1/memories/{id}", "get"],
      ["/v1/memories/{id}", "delete"],
      ["/api/memory/memories", "post"],
      ["/api/memory/memories/search", "get"],
      ["/api/memory", "get"],
      ["/api/memory", "post"],
      ["/api/memories", "post"],
      ["/api/memories/search", "post"],
      ["/api/memories/{id}", "get"],
      ["/api/memories/{id}", "delete"],
    ];
    for (const [path, method] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op?.security, `${method} ${path}`).toEqual([{ bearerAuth: [] }]);
    }
  });
});
