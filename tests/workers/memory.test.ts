// /v1/memory, the key-value API on Workers KV, through the Worker's own fetch handler.
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { KV_KEY_MAX_BYTES, USER_PREFIX } from "../../src/lib/memory/keys";
import { USER_METADATA_MAX_BYTES } from "../../src/lib/memory/kv";
import { BATCH_MAX_KEYS } from "../../src/lib/memory/kv-batch";
import {
  api,
  createAdmin,
  createUserWithRoles,
  type ErrorJson,
  json,
  registerUser,
  send,
  type Tokens,
  uniqueName,
} from "./support";

type Info = {
  key: string;
  contentType: string;
  etag: string;
  size: number;
  expiration: number | null;
  metadata: Record<string, unknown> | null;
};
type ListJson = { keys: Info[]; cursor: string | null; complete: boolean };

const MiB = 1024 * 1024;
let me: Tokens;
let other: Tokens;

beforeAll(async () => {
  [me, other] = await Promise.all([registerUser(), registerUser()]);
});

/** A namespace of the caller's own that no other test uses. */
const ns = () => uniqueName("ns");

function put(path: string, body: BodyInit, headers: Record<string, string> = {}, token = me.accessToken) {
  return send("PUT", `/v1/memory/${path}`, { token, body, headers });
}
const get = (path: string, headers: Record<string, string> = {}, token = me.accessToken) =>
  send("GET", `/v1/memory/${path}`, { token, headers });

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  expect(res.status).toBe(status);
  const body = await json<ErrorJson>(res);
  expect(body.error.code).toBe(code);
  return body;
}

describe("values keep their bytes and content type", () => {
  it("stores and reads back JSON with its content type and a strong ETag", async () => {
    const path = `${ns()}/settings`;
    const value = JSON.stringify({ theme: "dark", size: 3, list: [1, 2] });
    const stored = await put(path, value, { "Content-Type": "application/json" });
    expect(stored.status).toBe(200);
    const info = await json<Info>(stored);
    expect(info).toMatchObject({ key: "settings", contentType: "application/json", size: value.length });
    expect(info.etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    expect(stored.headers.get("etag")).toBe(info.etag);

    const res = await get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("etag")).toBe(info.etag);
    expect(res.headers.get("cache-control")).toBe("private, no-cache");
    expect(await res.json()).toEqual(JSON.parse(value));
  });

  it("stores text with its charset", async () => {
    const path = `${ns()}/note.txt`;
    await put(path, "héllo wörld ✓", { "Content-Type": "text/plain; charset=utf-8" });
    const res = await get(path);
    expect(res.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(await res.text()).toBe("héllo wörld ✓");
  });

  it("stores arbitrary bytes exactly, as application/octet-stream when no type is sent", async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919) % 256);
    const typed = `${ns()}/blob.png`;
    await put(typed, bytes, { "Content-Type": "image/png" });
    const res = await get(typed);
    expect(res.headers.get("content-type")).toBe("image/png");
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);

    const untyped = `${ns()}/raw`;
    const stored = await send("PUT", `/v1/memory/${untyped}`, { token: me.accessToken, body: bytes });
    expect(((await json(stored)) as Info).contentType).toBe("application/octet-stream");
    expect((await get(untyped)).headers.get("content-type")).toBe("application/octet-stream");
  });

  it("keeps keys with slashes, spaces and non-ASCII characters", async () => {
    const namespace = ns();
    const key = "a/b c/€";
    await put(`${namespace}/${encodeURIComponent(key)}`, "v", { "Content-Type": "text/plain" });
    expect(await (await get(`${namespace}/a/b%20c/%E2%82%AC`)).text()).toBe("v");
    const list = await json<ListJson>(await get(namespace));
    expect(list.keys.map((k) => k.key)).toEqual([key]);
  });

  it("answers HEAD with the headers of GET and no body", async () => {
    const path = `${ns()}/k`;
    const { etag } = await json<Info>(await put(path, "12345", { "Content-Type": "text/plain" }));
    const res = await send("HEAD", `/v1/memory/${path}`, { token: me.accessToken });
    expect(res.status).toBe(200);
    expect(res.headers.get("etag")).toBe(etag);
    expect(res.headers.get("content-type")).toBe("text/plain");
    expect(res.headers.get("content-length")).toBe("5");
    expect(await res.text()).toBe("");
    expect((await send("HEAD", `/v1/memory/${ns()}/missing`, { token: me.accessToken })).status).toBe(404);
  });

  it("deletes a key (204, then 404), and deleting a missing key is also 204", async () => {
    const path = `${ns()}/gone`;
    await put(path, "x");
    expect((await send("DELETE", `/v1/memory/${path}`, { token: me.accessToken })).status).toBe(204);
    await expectError(await get(path), 404, "not_found");
    expect((await send("DELETE", `/v1/memory/${path}`, { token: me.accessToken })).status).toBe(204);
  });

  it("refuses a JSON value that does not parse, and a malformed content type, with 400", async () => {
    await expectError(
      await put(`${ns()}/j`, "{not json", { "Content-Type": "application/json" }),
      400,
      "invalid_request",
    );
    await expectError(await put(`${ns()}/t`, "x", { "Content-Type": "not a type" }), 400, "invalid_request");
    await expectError(
      await put(`${ns()}/q`, "x", { "Content-Type": 'text/plain; charset="utf-8"' }),
      400,
      "invalid_request",
    );
  });

  it("needs a token (401) and a valid namespace name (400)", async () => {
    expect((await send("GET", `/v1/memory/${ns()}/k`)).status).toBe(401);
    await expectError(await get("bad%20ns/k"), 400, "invalid_request");
    await expectError(await get(`${"n".repeat(65)}/k`), 400, "invalid_request");
  });
});

describe("ETag and If-None-Match", () => {
  it("answers 304 with no body for the current ETag, and 200 once the value changed", async () => {
    const path = `${ns()}/cached`;
    const first = await json<Info>(await put(path, "one", { "Content-Type": "text/plain" }));
    const notModified = await get(path, { "If-None-Match": first.etag });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe(first.etag);
    expect(await notModified.text()).toBe("");
    expect((await get(path, { "If-None-Match": `"other", W/${first.etag}` })).status).toBe(304);
    expect((await get(path, { "If-None-Match": "*" })).status).toBe(304);

    const second = await json<Info>(await put(path, "two", { "Content-Type": "text/plain" }));
    expect(second.etag).not.toBe(first.etag);
    const changed = await get(path, { "If-None-Match": first.etag });
    expect(changed.status).toBe(200);
    expect(await changed.text()).toBe("two");
  });

  it("refuses a conditional write (If-Match, If-None-Match) with 412 and writes nothing: KV has no compare-and-set", async () => {
    const path = `${ns()}/guarded`;
    const first = await json<Info>(await put(path, "one", { "Content-Type": "text/plain" }));
    const conditions: Record<string, string>[] = [
      { "If-Match": '"not-the-etag"' },
      { "If-Match": first.etag },
      { "If-None-Match": "*" },
    ];
    for (const headers of conditions) {
      const refused = await expectError(
        await put(path, "two", { "Content-Type": "text/plain", ...headers }),
        412,
        "precondition_failed",
      );
      expect(refused.error.message).toMatch(/compare-and-set/);
    }
    const deleted = await send("DELETE", `/v1/memory/${path}`, {
      token: me.accessToken,
      headers: { "If-Match": first.etag },
    });
    await expectError(deleted, 412, "precondition_failed");
    const res = await get(path);
    expect(res.headers.get("etag")).toBe(first.etag);
    expect(await res.text()).toBe("one");
  });

  it("gives equal bytes the same ETag wherever they are stored", async () => {
    const a = await json<Info>(await put(`${ns()}/a`, "same", { "Content-Type": "text/plain" }));
    const b = await json<Info>(await put(`${ns()}/b`, "same", { "Content-Type": "text/plain" }));
    expect(a.etag).toBe(b.etag);
  });
});

describe("TTL", () => {
  it("sets an expiry shown on GET and in the list", async () => {
    const namespace = ns();
    const before = Math.floor(Date.now() / 1000);
    const info = await json<Info>(await put(`${namespace}/temp?ttl=120`, "t", { "Content-Type": "text/plain" }));
    expect(info.expiration).toBeGreaterThanOrEqual(before + 120);
    expect(info.expiration).toBeLessThanOrEqual(before + 122);
    expect(Number((await get(`${namespace}/temp`)).headers.get("x-memory-expiration"))).toBe(info.expiration);
    const list = await json<ListJson>(await get(namespace));
    expect(list.keys[0]?.expiration).toBe(info.expiration);
  });

  it.each([
    ["59 seconds (KV's minimum is 60)", "59"],
    ["zero", "0"],
    ["a fraction", "90.5"],
    ["a word", "soon"],
    ["more than a year", String(366 * 86_400)],
  ])("refuses a TTL of %s with 400", async (_label, ttl) => {
    const body = await expectError(await put(`${ns()}/k?ttl=${ttl}`, "x"), 400, "invalid_request");
    expect(body.error.issues?.[0]?.path).toEqual(["query", "ttl"]);
  });

  it("accepts exactly 60 seconds", async () => {
    expect((await put(`${ns()}/k?ttl=60`, "x")).status).toBe(200);
  });
});

describe("metadata", () => {
  it("is kept as JSON and returned on GET and in the list, non-ASCII escaped in the header", async () => {
    const namespace = ns();
    const metadata = { source: "crawler", tags: ["a", "b"], note: "café" };
    const header = JSON.stringify(metadata).replace("é", "\\u00e9");
    await put(`${namespace}/m`, "v", { "Content-Type": "text/plain", "X-Memory-Metadata": header });
    const res = await get(`${namespace}/m`);
    expect(JSON.parse(res.headers.get("x-memory-metadata") ?? "null")).toEqual(metadata);
    expect((await json<ListJson>(await get(namespace))).keys[0]?.metadata).toEqual(metadata);
  });

  it(`accepts ${USER_METADATA_MAX_BYTES} bytes and refuses one more with 400, as it does anything over 1 KiB`, async () => {
    // {"x":"…"} is 8 bytes of JSON around the string.
    const sized = (bytes: number) => JSON.stringify({ x: "y".repeat(bytes - 8) });
    expect(sized(USER_METADATA_MAX_BYTES)).toHaveLength(USER_METADATA_MAX_BYTES);
    expect((await put(`${ns()}/ok`, "v", { "X-Memory-Metadata": sized(USER_METADATA_MAX_BYTES) })).status).toBe(200);
    // 400, not 413: the request body is within its limit; one field of it is too long, like any other field.
    for (const bytes of [USER_METADATA_MAX_BYTES + 1, 1025, 2000]) {
      const body = await expectError(
        await put(`${ns()}/big`, "v", { "X-Memory-Metadata": sized(bytes) }),
        400,
        "invalid_request",
      );
      expect(body.error.issues?.[0]?.path.slice(0, 2)).toEqual(["header", "x-memory-metadata"]);
    }
  });

  it("refuses metadata that is not a JSON object with 400", async () => {
    for (const bad of ["{oops", "[1,2]", '"text"', "3"]) {
      await expectError(await put(`${ns()}/k`, "v", { "X-Memory-Metadata": bad }), 400, "invalid_request");
    }
  });
});

describe("keys", () => {
  it("refuses an empty key with 400", async () => {
    await expectError(await put(`${ns()}/`, "v"), 400, "invalid_request");
    await expectError(await get(`${ns()}/`), 400, "invalid_request");
  });

  it("allows exactly 512 bytes of KV key with our prefix, and refuses 513 and more with 400", async () => {
    const namespace = ns();
    const prefixBytes = `${USER_PREFIX}${me.user.id}:${namespace}:`.length;
    const longest = "k".repeat(KV_KEY_MAX_BYTES - prefixBytes);
    expect((await put(`${namespace}/${longest}`, "v")).status).toBe(200);
    expect(await (await get(`${namespace}/${longest}`)).text()).toBe("v");
    const body = await expectError(await put(`${namespace}/${longest}k`, "v"), 400, "invalid_request");
    expect(body.error.message).toContain(`at most ${KV_KEY_MAX_BYTES - prefixBytes} bytes`);
    // Multi-byte characters count as their UTF-8 bytes.
    await expectError(await put(`${namespace}/${"€".repeat(171)}`, "v"), 400, "invalid_request");
    await expectError(await put(`${namespace}/${"k".repeat(513)}`, "v"), 400, "invalid_request");
  });

  it.each([
    ["NUL", "%00"],
    ["a newline", "%0A"],
    ["a tab", "%09"],
    ["DEL", "%7F"],
    ["a C1 control", "%C2%85"],
  ])("refuses a key containing %s with 400", async (_label, encoded) => {
    const body = await expectError(await put(`${ns()}/a${encoded}b`, "v"), 400, "invalid_request");
    expect(body.error.issues?.[0]?.path).toEqual(["path", "key"]);
  });
});

describe("value size", () => {
  it("accepts exactly MEMORY_MAX_VALUE_BYTES (1 MiB) and refuses one byte more with 413", async () => {
    expect((await put(`${ns()}/full`, new Uint8Array(MiB))).status).toBe(200);
    const res = await put(`${ns()}/over`, new Uint8Array(MiB + 1));
    const body = await expectError(res, 413, "payload_too_large");
    expect(body.error.message).toContain("MEMORY_MAX_VALUE_BYTES");
  });
});

describe("list", () => {
  it("pages through a prefix with cursor and limit, in key order", async () => {
    const namespace = ns();
    for (const key of ["a/1", "a/2", "a/3", "a/4", "a/5", "b/1"]) await put(`${namespace}/${key}`, key);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const qs: string = `?prefix=a/&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page: ListJson = await json<ListJson>(await get(`${namespace}${qs}`));
      expect(page.keys.length).toBeLessThanOrEqual(2);
      seen.push(...page.keys.map((k) => k.key));
      expect(page.complete).toBe(page.cursor === null);
      cursor = page.cursor;
      pages++;
    } while (cursor && pages < 10);
    expect(seen).toEqual(["a/1", "a/2", "a/3", "a/4", "a/5"]);
    expect(pages).toBe(3);
    const all = await json<ListJson>(await get(namespace));
    expect(all.keys.map((k) => k.key)).toEqual(["a/1", "a/2", "a/3", "a/4", "a/5", "b/1"]);
    // fetch() labels a string body text/plain;charset=UTF-8, and that label is what was stored.
    expect(all.keys[0]).toMatchObject({ contentType: "text/plain;charset=UTF-8", size: 3, expiration: null });
  });

  it("refuses a page size over 1000, under 1, or a bad prefix or cursor, with 400", async () => {
    const namespace = ns();
    await put(`${namespace}/k`, "v");
    for (const qs of ["?limit=1001", "?limit=0", "?prefix=%00", "?cursor=not%20a%20cursor"]) {
      await expectError(await get(`${namespace}${qs}`), 400, "invalid_request");
    }
    expect((await get(`${namespace}?limit=1000`)).status).toBe(200);
  });
});

describe("batch", () => {
  it(`puts and gets ${BATCH_MAX_KEYS} keys in one request each, JSON, text and base64`, async () => {
    const namespace = ns();
    const items = Array.from({ length: BATCH_MAX_KEYS }, (_, i) =>
      i % 3 === 0
        ? { key: `k${i}`, value: { n: i } }
        : i % 3 === 1
          ? { key: `k${i}`, value: `text ${i}`, encoding: "text", ttl: 3600 }
          : { key: `k${i}`, value: btoa(String.fromCharCode(i, 0, 255)), encoding: "base64", metadata: { i } },
    );
    const putRes = await api("POST", `/v1/memory/${namespace}/batch`, {
      token: me.accessToken,
      body: { op: "put", items },
    });
    expect(putRes.status).toBe(200);
    const written = (await json<{ items: (Info & { written: boolean })[] }>(putRes)).items;
    expect(written).toHaveLength(BATCH_MAX_KEYS);
    expect(written.every((w) => w.written)).toBe(true);
    expect(written[1]?.contentType).toBe("text/plain; charset=utf-8");

    const keys = [...items.map((i) => i.key), "missing"].slice(1);
    const getRes = await api("POST", `/v1/memory/${namespace}/batch`, {
      token: me.accessToken,
      body: { op: "get", keys },
    });
    expect(getRes.status).toBe(200);
    const got = (await json<{ items: (Info & { found: boolean; encoding: string; value: unknown })[] }>(getRes)).items;
    expect(got.map((g) => g.key)).toEqual(keys);
    expect(got[0]).toMatchObject({
      found: true,
      encoding: "text",
      value: "text 1",
      contentType: "text/plain; charset=utf-8",
    });
    expect(got[0]?.expiration).toBeGreaterThan(Date.now() / 1000);
    expect(got[1]).toMatchObject({
      found: true,
      encoding: "base64",
      value: btoa("\u0002\u0000\u00ff"),
      metadata: { i: 2 },
    });
    expect(got[2]).toMatchObject({ found: true, encoding: "json", value: { n: 3 } });
    expect(got.at(-1)).toEqual({ key: "missing", found: false });
    // What the batch wrote, a single GET reads the same.
    expect(await (await get(`${namespace}/k3`)).json()).toEqual({ n: 3 });
  });

  it(`refuses ${BATCH_MAX_KEYS + 1} keys, a duplicate, or a bad key with 400 and writes nothing`, async () => {
    const namespace = ns();
    const call = (body: unknown) => api("POST", `/v1/memory/${namespace}/batch`, { token: me.accessToken, body });
    const many = Array.from({ length: BATCH_MAX_KEYS + 1 }, (_, i) => `k${i}`);
    await expectError(await call({ op: "get", keys: many }), 400, "invalid_request");
    await expectError(await call({ op: "put", items: many.map((key) => ({ key, value: 1 })) }), 400, "invalid_request");
    await expectError(
      await call({
        op: "put",
        items: [
          { key: "a", value: 1 },
          { key: "a", value: 2 },
        ],
      }),
      400,
      "invalid_request",
    );
    const bad = await expectError(
      await call({
        op: "put",
        items: [
          { key: "fine", value: 1 },
          { key: "bad\u0000", value: 2 },
        ],
      }),
      400,
      "invalid_request",
    );
    expect(bad.error.issues?.[0]?.path).toEqual(["body", "items", 1, "key"]);
    await expectError(await call({ op: "get", keys: [""] }), 400, "invalid_request");
    await expectError(
      await call({ op: "put", items: [{ key: "t", value: 5, encoding: "text" }] }),
      400,
      "invalid_request",
    );
    await expectError(await call({ op: "put", items: [{ key: "t", value: "x", ttl: 30 }] }), 400, "invalid_request");
    expect((await json<ListJson>(await get(namespace))).keys).toEqual([]);
  });

  it("refuses an item whose decoded value is over the limit with 413", async () => {
    // "AAAA" is three zero bytes in base64: this decodes to just over 1 MiB.
    const big = "AAAA".repeat(Math.ceil((MiB + 1) / 3));
    const res = await api("POST", `/v1/memory/${ns()}/batch`, {
      token: me.accessToken,
      body: { op: "put", items: [{ key: "big", value: big, encoding: "base64" }] },
    });
    const body = await expectError(res, 413, "payload_too_large");
    expect(body.error.issues?.[0]?.path).toEqual(["body", "items", 0, "value"]);
  });
});

describe("isolation and team namespaces", () => {
  it("keeps each user's keys apart: another user's key is 404, never 403", async () => {
    const namespace = ns();
    await put(`${namespace}/secret`, "mine", { "Content-Type": "text/plain" });
    await expectError(await get(`${namespace}/secret`, {}, other.accessToken), 404, "not_found");
    expect((await json<ListJson>(await get(namespace, {}, other.accessToken))).keys).toEqual([]);
    // The other user's own key of the same name is theirs alone, and deleting it leaves mine.
    await put(`${namespace}/secret`, "theirs", { "Content-Type": "text/plain" }, other.accessToken);
    expect(await (await get(`${namespace}/secret`)).text()).toBe("mine");
    await send("DELETE", `/v1/memory/${namespace}/secret`, { token: other.accessToken });
    expect(await (await get(`${namespace}/secret`)).text()).toBe("mine");
    // Nothing outside the caller's prefix is reachable.
    expect(await env.MEMORY.get(`${USER_PREFIX}${me.user.id}:${namespace}:secret`)).toBe("mine");
  });

  it("refuses a team namespace to a user without one of its roles with 403", async () => {
    for (const [method, path] of [
      ["GET", "/v1/memory/team-research/k"],
      ["PUT", "/v1/memory/team-research/k"],
      ["DELETE", "/v1/memory/team-research/k"],
      ["GET", "/v1/memory/team-research"],
    ] as const) {
      await expectError(
        await send(method, path, { token: me.accessToken, body: method === "PUT" ? "x" : undefined }),
        403,
        "forbidden",
      );
    }
  });

  it("shares a team namespace between the roles the config names (researcher, admin)", async () => {
    const [researcher, admin] = await Promise.all([createUserWithRoles(["user", "researcher"]), createAdmin()]);
    const key = uniqueName("shared");
    const stored = await put(
      `team-research/${key}`,
      "findings",
      { "Content-Type": "text/plain" },
      researcher.accessToken,
    );
    expect(stored.status).toBe(200);
    const res = await get(`team-research/${key}`, {}, admin.accessToken);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("findings");
    expect(await env.MEMORY.get(`ns:team-research:${key}`)).toBe("findings");
  });
});
