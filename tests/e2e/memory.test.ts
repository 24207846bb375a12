// The key-value API and memory search over real HTTP against `wrangler dev` (local KV, the bridge's database).
import { beforeAll, describe, expect, inject, it } from "vitest";
import { signUp } from "../support/client";

const base = inject("workerUrl");
let token = "";

function call(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}) {
  return fetch(`${base}${path}`, {
    method,
    body: init.body,
    headers: { authorization: `Bearer ${token}`, ...init.headers },
  });
}

beforeAll(async () => {
  token = (await signUp(base, "mem")).token;
});

describe("key-value over HTTP", () => {
  it("puts, reads (200, then 304 with the ETag), heads, lists and deletes a JSON value", async () => {
    const value = { plan: "pro", seats: 5 };
    const put = await call("PUT", "/v1/memory/e2e/account%2Fplan?ttl=3600", {
      body: JSON.stringify(value),
      headers: { "content-type": "application/json", "x-memory-metadata": '{"by":"e2e"}' },
    });
    expect(put.status).toBe(200);
    const etag = put.headers.get("etag") ?? "";
    expect(etag).toMatch(/^".+"$/);

    const got = await call("GET", "/v1/memory/e2e/account/plan");
    expect(got.status).toBe(200);
    expect(got.headers.get("content-type")).toBe("application/json");
    expect(got.headers.get("etag")).toBe(etag);
    expect(JSON.parse(got.headers.get("x-memory-metadata") ?? "null")).toEqual({ by: "e2e" });
    expect(await got.json()).toEqual(value);

    const again = await call("GET", "/v1/memory/e2e/account/plan", { headers: { "if-none-match": etag } });
    expect(again.status).toBe(304);
    const head = await call("HEAD", "/v1/memory/e2e/account/plan");
    expect(head.status).toBe(200);
    expect(head.headers.get("etag")).toBe(etag);

    const list = (await (await call("GET", "/v1/memory/e2e?prefix=account/")).json()) as {
      keys: { key: string; expiration: number | null }[];
    };
    expect(list.keys.map((k) => k.key)).toEqual(["account/plan"]);
    expect(list.keys[0]?.expiration).toBeGreaterThan(Date.now() / 1000 + 3500);

    expect((await call("DELETE", "/v1/memory/e2e/account/plan")).status).toBe(204);
    expect((await call("GET", "/v1/memory/e2e/account/plan")).status).toBe(404);
  });
});

describe("memory search over HTTP", () => {
  it("finds memories ranked with the tag match first, and counts the hits", async () => {
    const word = `e2e${Date.now().toString(36)}`;
    const create = async (body: Record<string, unknown>) => {
      const res = await call("POST", "/v1/memories", {
        body: JSON.stringify({ type: "fact", ...body }),
        headers: { "content-type": "application/json" },
      });
      expect(res.status).toBe(201);
      return ((await res.json()) as { id: string }).id;
    };
    const inContent = await create({ content: `the ${word} is in the content` });
    const inTags = await create({ content: "tagged only", tags: [word] });
    await create({ content: "not a match" });

    const res = await call("GET", `/v1/memories/search?q=${word}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { memories: { id: string; accessCount: number }[] };
    expect(page.memories.map((m) => m.id)).toEqual([inTags, inContent]);
    expect(page.memories.every((m) => m.accessCount === 1)).toBe(true);

    const legacy = await call("GET", `/api/memory/memories/search?q=${word}&limit=1`);
    expect(await legacy.json()).toMatchObject({ count: 1, query: word, memories: [{ id: inTags, access_count: 2 }] });
  });
});
