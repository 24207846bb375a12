// /v1/files and the legacy /api/files adapter: upload to R2, the Postgres index, smart tags, search, the limits.
import { env } from "cloudflare:workers";
import { sql } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { db } from "../../src/lib/db/client";
import { parseRange } from "../../src/lib/files/content";
import { describe as describeMedia, sniffMagic } from "../../src/lib/files/media";
import type { FileItem, SearchHit, SearchResponse } from "../../src/lib/files/model";
import { FILE_LIMITS } from "../../src/lib/files/model";
import { activeRules, type FileFacts, ruleTags, TagRulesConfig } from "../../src/lib/files/tags";
import { htmlToText } from "../../src/lib/files/text";
import { identifierWords, typoBudget } from "../../src/lib/files/words";
import { type CorpusFile, fillerFiles, PNG_MAGIC, TARGETS, targetFiles } from "../support/file-corpus";
import { api, apiPatient, type ErrorJson, json, registerUser, send, type Tokens } from "./support";

const MAX_BYTES = 2 * 1024 * 1024; // FILES_MAX_BYTES in tests/workers/vitest.config.ts
const INLINE_BYTES = 65_536; // FILES_INLINE_INDEX_MAX_BYTES there

let me: Tokens;
let other: Tokens;

async function expectError(res: Response, status: number, code: string): Promise<ErrorJson> {
  const body = await json<ErrorJson>(res);
  expect({ status: res.status, code: body.error?.code }).toEqual({ status, code });
  return body;
}

/** One multipart request with many files (filenames carry their folders). */
function uploadRequest(files: CorpusFile[], token: string, fields: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const f of files) form.append("file", new File([f.bytes], f.path, { type: f.type ?? "" }));
  return send("POST", "/v1/files", { token, body: form });
}

async function upload(files: CorpusFile[], token = me.accessToken, fields: Record<string, string> = {}) {
  const res = await uploadRequest(files, token, fields);
  if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
  return json<{ files: FileItem[]; deduplicated: string[] }>(res);
}

async function putByPath(path: string, body: BodyInit, token = me.accessToken, type?: string): Promise<Response> {
  return send("PUT", `/v1/files/by-path?path=${encodeURIComponent(path)}`, {
    token,
    body,
    headers: type ? { "Content-Type": type } : {},
  });
}

async function search(qs: string, token = me.accessToken): Promise<SearchResponse> {
  const res = await api("GET", `/v1/files/search?${qs}`, { token });
  if (res.status !== 200) throw new Error(`search failed: ${res.status} ${await res.text()}`);
  return json<SearchResponse>(res);
}

const first = async (q: string) => (await search(`q=${encodeURIComponent(q)}`)).results[0]?.item.path;
const text = (s: string) => new TextEncoder().encode(s);
let counter = 0;
const fresh = (prefix = "/t") => `${prefix}/f${Date.now().toString(36)}${++counter}`;

async function r2Keys(userId: string): Promise<string[]> {
  const listed = await env.FILES.list({ prefix: `files/${userId}/` });
  return listed.objects.map((o) => o.key);
}

beforeAll(async () => {
  [me, other] = await Promise.all([registerUser(), registerUser()]);
  // The fixture corpus: the targets and 300 filler files, 100 to a request.
  const corpus = [...targetFiles(), ...fillerFiles(300)];
  for (let i = 0; i < corpus.length; i += FILE_LIMITS.filesPerRequest) {
    await upload(corpus.slice(i, i + FILE_LIMITS.filesPerRequest));
  }
  // The other user has a file with the same words as one of mine.
  await upload(
    [{ path: "/notes/quarterly-revenue-forecast.md", bytes: text("their quarterly revenue forecast") }],
    other.accessToken,
  );
}, 60_000);

describe("upload", () => {
  it("stores a batch with media types from the bytes and the name, rule tags, and the text indexed", async () => {
    const res = await json<{ files: FileItem[] }>(
      await api("GET", `/v1/files?sort=recent&limit=200`, { token: me.accessToken }),
    );
    const byPath = new Map(res.files.map((f) => [f.path, f]));
    const py = (await search("q=receive_payment")).results[0]?.item;
    expect(py).toMatchObject({
      path: TARGETS.payment.path,
      name: "payment_processor.py",
      folder: "/projects/atlas/src",
      extension: "py",
      type: "code",
      mediaType: "text/x-python",
      index: { status: "indexed", truncated: false },
    });
    expect(py?.ruleTags).toEqual(["code", "project:atlas", "py", "python", "size:small"]);
    const license = (await search("q=license")).results.find((h) => h.item.path === TARGETS.license.path)?.item;
    expect(license?.ruleTags).toContain("license");
    const testFile = (await search("q=payment.test")).results.find((h) => h.item.path === TARGETS.paymentTest.path);
    expect(testFile?.item.ruleTags).toEqual(expect.arrayContaining(["test", "typescript", "code"]));
    expect((await search("q=quarterly")).results[0]?.item.ruleTags).toEqual(
      expect.arrayContaining(["document", "md", "todo"]),
    );
    // A PDF's text comes from the GPU worker (docs/documents.md): until its job ends, the file is found by name.
    const pdf = (await search("q=invoice")).results[0]?.item;
    expect(pdf).toMatchObject({ mediaType: "application/pdf", type: "document", index: { status: "queued" } });
    expect(byPath.size).toBeGreaterThan(0);
  });

  it("uses magic bytes over the client's header and the extension", async () => {
    const png = new Uint8Array([...PNG_MAGIC, 1, 2, 3, 4]);
    const res = await putByPath(`${fresh()}.jpg`, png, me.accessToken, "text/plain");
    expect(res.status).toBe(201);
    expect(await json<FileItem>(res)).toMatchObject({
      mediaType: "image/png",
      type: "media",
      index: { status: "binary" },
    });
  });

  it("PUT by path creates (201) and replaces (200) in place, keeping the id and the user's tags", async () => {
    const path = `${fresh()}.md`;
    const created = await putByPath(`${path}`, "first version about zebras", me.accessToken);
    expect(created.status).toBe(201);
    const a = await json<FileItem>(created);
    await api("PATCH", `/v1/files/${a.id}`, { token: me.accessToken, body: { addTags: ["mine"] } });
    const replaced = await putByPath(path, "second version about giraffes", me.accessToken);
    expect(replaced.status).toBe(200);
    const b = await json<FileItem>(replaced);
    expect(b.id).toBe(a.id);
    expect(b.userTags).toEqual(["mine"]);
    expect(b.sha256).not.toBe(a.sha256);
    expect((await search("q=giraffes")).results.map((h) => h.item.id)).toEqual([a.id]);
    expect((await search("q=zebras")).results).toEqual([]);
    // The first version's blob went with it: nothing else referenced it.
    expect(await r2Keys(me.user.id)).not.toContain(`files/${me.user.id}/${a.sha256}`);
  });

  it("stores identical content once per user, and deleting one copy keeps the bytes for the other", async () => {
    const bytes = text(`identical content ${fresh()}`);
    const one = await upload([{ path: `${fresh()}/a.txt`, bytes }]);
    const two = await upload([{ path: `${fresh()}/b.txt`, bytes }]);
    const [a, b] = [one.files[0] as FileItem, two.files[0] as FileItem];
    expect(a.sha256).toBe(b.sha256);
    expect(one.deduplicated).toEqual([]);
    expect(two.deduplicated).toEqual([b.id]);
    const key = `files/${me.user.id}/${a.sha256}`;
    expect((await r2Keys(me.user.id)).filter((k) => k === key)).toHaveLength(1);
    // The other user's identical bytes are theirs alone.
    const theirs = await upload([{ path: "/same.txt", bytes }], other.accessToken);
    expect(theirs.deduplicated).toEqual([]);
    expect(await r2Keys(other.user.id)).toContain(`files/${other.user.id}/${a.sha256}`);

    expect((await api("DELETE", `/v1/files/${a.id}`, { token: me.accessToken })).status).toBe(204);
    expect(await r2Keys(me.user.id)).toContain(key);
    const content = await send("GET", `/v1/files/${b.id}/content`, { token: me.accessToken });
    expect(await content.text()).toBe(new TextDecoder().decode(bytes));
    expect((await api("DELETE", `/v1/files/${b.id}`, { token: me.accessToken })).status).toBe(204);
    expect(await r2Keys(me.user.id)).not.toContain(key);
  });

  it("refuses a taken path with 409 and keeps nothing of that upload", async () => {
    const base = fresh();
    await upload([{ path: `${base}/x.txt`, bytes: text("x") }]);
    const res = await uploadRequest(
      [
        { path: `${base}/new.txt`, bytes: text("new") },
        { path: `${base}/x.txt`, bytes: text("again") },
      ],
      me.accessToken,
    );
    await expectError(res, 409, "conflict");
    const listed = await search(`q=&type=txt`);
    expect(listed.results.some((h) => h.item.path === `${base}/new.txt`)).toBe(false);
  });

  it("places files under the `path` field, with the form's tags and description", async () => {
    const folder = fresh("/inbox");
    const { files } = await upload([{ path: "sub/note.txt", bytes: text("hello") }], me.accessToken, {
      path: folder,
      tags: "Urgent, review",
      description: "from the scanner",
    });
    expect(files[0]).toMatchObject({
      path: `${folder}/sub/note.txt`,
      userTags: ["review", "urgent"],
      description: "from the scanner",
    });
  });

  it("indexes a large text file through the queue; the upload answers before that", async () => {
    const word = `zqueued${Date.now().toString(36)}`;
    const big = `${"lorem ipsum dolor sit amet ".repeat(Math.ceil((INLINE_BYTES + 1000) / 27))}${word}\n`;
    const res = await putByPath(`${fresh()}.txt`, big);
    expect(res.status).toBe(201);
    const item = await json<FileItem>(res);
    expect(item.index.status).toBe("queued");
    await expect
      .poll(
        async () =>
          (await json<FileItem>(await api("GET", `/v1/files/${item.id}`, { token: me.accessToken }))).index.status,
        {
          timeout: 10_000,
          interval: 200,
        },
      )
      .toBe("indexed");
    // Past FILES_INDEX_MAX_BYTES (128 KiB)? No: this one is 66 KB, so the last word is indexed too.
    expect((await search(`q=${word}`)).results.map((h) => h.item.id)).toEqual([item.id]);
  });
});

describe("bad input", () => {
  it.each([
    ["a '..' segment", "/a/../b.txt"],
    ["a NUL", "/a/b\u0000.txt"],
    ["a control character", "/a/b\u0007.txt"],
    ["a '.' segment", "/./b.txt"],
    ["a path over 1024 characters", `/${"a".repeat(1025)}`],
  ])("refuses a path with %s (400)", async (_label, path) => {
    const put = await putByPath(path, "x");
    await expectError(put, 400, "invalid_request");
    const post = await uploadRequest([{ path: "ok.txt", bytes: text("x") }], me.accessToken, { path: `${path}/x` });
    await expectError(post, 400, "invalid_request");
  });

  it("refuses a PUT path without a file name (400)", async () => {
    await expectError(await putByPath("/", "x"), 400, "invalid_request");
    await expectError(await putByPath("///", "x"), 400, "invalid_request");
  });

  it("refuses a filename with '..' in a multipart upload (400)", async () => {
    await expectError(
      await uploadRequest([{ path: "../etc/passwd", bytes: text("x") }], me.accessToken),
      400,
      "invalid_request",
    );
  });

  it("accepts an empty file: stored, found by name, no text", async () => {
    const path = `${fresh()}/emptyzqfile.txt`;
    const res = await putByPath(path, new Uint8Array(0));
    expect(res.status).toBe(201);
    const item = await json<FileItem>(res);
    expect(item).toMatchObject({ size: 0, index: { status: "empty" } });
    expect(item.ruleTags).toContain("size:empty");
    expect((await search("q=emptyzqfile")).results[0]?.item.id).toBe(item.id);
    const content = await send("GET", `/v1/files/${item.id}/content`, { token: me.accessToken });
    expect(content.status).toBe(200);
    expect((await content.arrayBuffer()).byteLength).toBe(0);
  });

  it(`refuses a file over FILES_MAX_BYTES with 413 (PUT and multipart), and accepts exactly the limit`, async () => {
    const over = new Uint8Array(MAX_BYTES + 1).fill(0x61);
    await expectError(await putByPath(`${fresh()}.txt`, over), 413, "payload_too_large");
    await expectError(
      await uploadRequest([{ path: "big.txt", bytes: over }], me.accessToken),
      413,
      "payload_too_large",
    );
    const exact = await putByPath(`${fresh()}.txt`, new Uint8Array(MAX_BYTES).fill(0x62));
    expect(exact.status).toBe(201);
    expect((await json<FileItem>(exact)).index).toMatchObject({ status: "queued" });
  });

  it("stores a binary file named .txt without indexing its bytes as text", async () => {
    const bytes = new Uint8Array(600);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) % 256;
    bytes.set(text("zqbinaryword"), 100);
    const res = await putByPath(`${fresh()}/dump.txt`, bytes);
    expect(res.status).toBe(201);
    const item = await json<FileItem>(res);
    expect(item).toMatchObject({ mediaType: "application/octet-stream", size: 600, index: { status: "binary" } });
    expect((await search("q=zqbinaryword")).results).toEqual([]);
    const content = await send("GET", `/v1/files/${item.id}/content`, { token: me.accessToken });
    expect(new Uint8Array(await content.arrayBuffer())).toEqual(bytes);
  });

  it("stores invalid UTF-8 without indexing it as text", async () => {
    const bytes = new Uint8Array([...text("zqlatin caf"), 0xe9, ...text(" au lait\n")]);
    const item = await json<FileItem>(await putByPath(`${fresh()}/latin1.txt`, bytes));
    expect(item).toMatchObject({ mediaType: "text/plain", index: { status: "invalid_utf8" } });
    expect((await search("q=zqlatin")).results).toEqual([]);
  });

  it("answers punctuation with no hits, and stop words with the names that contain them, never content", async () => {
    expect((await search(`q=${encodeURIComponent("?!... ---")}`)).results).toEqual([]);
    const named = await json<FileItem>(
      await putByPath(`${fresh()}/minutes of the and notes.md`, text("zqplain words only\n")),
    );
    const inContent = await json<FileItem>(
      await putByPath(`${fresh()}/zqcontentonly.txt`, text("of the and of the and\n")),
    );
    const stop = await search(`q=${encodeURIComponent("of the and")}&limit=100`);
    const ids = stop.results.map((h) => h.item.id);
    expect(ids).toContain(named.id);
    expect(ids).not.toContain(inContent.id);
    expect(stop.results.every((h) => !h.matchReason.includes("content"))).toBe(true);
  });

  it(`refuses a 300-character query with 400, accepts ${FILE_LIMITS.queryMaxLength}`, async () => {
    const res = await api("GET", `/v1/files/search?q=${"a".repeat(300)}`, { token: me.accessToken });
    const body = await expectError(res, 400, "invalid_request");
    expect(body.error.issues?.[0]?.path).toEqual(["query", "q"]);
    expect((await search(`q=${"a".repeat(FILE_LIMITS.queryMaxLength)}`)).results).toEqual([]);
  });

  it("answers another user's file id with 404 on every route, and leaves it alone", async () => {
    const mine = (await search("q=quarterly+revenue")).results[0]?.item as FileItem;
    for (const [method, path, body] of [
      ["GET", `/v1/files/${mine.id}`],
      ["GET", `/v1/files/${mine.id}/content`],
      ["PATCH", `/v1/files/${mine.id}`, { name: "stolen.md" }],
      ["POST", `/v1/files/${mine.id}/reindex`],
      ["DELETE", `/v1/files/${mine.id}`],
    ] as const) {
      await expectError(await api(method, path, { token: other.accessToken, body }), 404, "not_found");
    }
    expect((await api("GET", `/v1/files/${mine.id}`, { token: me.accessToken })).status).toBe(200);
  });

  it("needs a token (401), a UUID (400) and multipart for POST (415)", async () => {
    expect((await api("GET", "/v1/files/search?q=x")).status).toBe(401);
    await expectError(await api("GET", "/v1/files/nope", { token: me.accessToken }), 400, "invalid_request");
    await expectError(
      await api("POST", "/v1/files", { token: me.accessToken, body: {} }),
      415,
      "unsupported_media_type",
    );
    const noFile = new FormData();
    noFile.append("path", "/x");
    await expectError(await send("POST", "/v1/files", { token: me.accessToken, body: noFile }), 400, "invalid_request");
  });
});

describe("search", () => {
  it("finds the right file first for exact, misspelt and prefix queries", async () => {
    expect(await first("quarterly revenue forecast")).toBe(TARGETS.forecast.path);
    expect(await first("kubernetes deployment")).toBe(TARGETS.kubernetes.path);
    // Misspelt: a transposition and a dropped letter, in names and in content.
    expect(await first("kubernets deploymnt")).toBe(TARGETS.kubernetes.path);
    expect(await first("quartelry forecast")).toBe(TARGETS.forecast.path);
    expect(await first("recieve paymnet")).toBe(TARGETS.payment.path);
    // Prefix, as typed: "invo" finds invoice-2024-03.pdf, "kuber" the guide.
    expect(await first("invo")).toBe("/finance/invoice-2024-03.pdf");
    expect(await first("kuber")).toBe(TARGETS.kubernetes.path);
    // Accents fold both ways; HTML is indexed as its visible text only.
    expect(await first("cafe aurora")).toBe(TARGETS.landing.path);
    expect(await first("café")).toBe(TARGETS.landing.path);
    expect((await search("q=zzhidden")).results).toEqual([]);
  });

  it("says why a file matched, and marks typo matches", async () => {
    const exact = (await search("q=kubernetes")).results[0] as SearchHit;
    expect(exact.matchReason).toContain("name");
    expect(exact.matchReason).toContain("content");
    expect(exact.matchReason).not.toContain("typo");
    // Not "kubernets": that stems to "kubernet", which is simply a prefix of the real word's stem.
    const typo = (await search("q=kubrenetes")).results[0] as SearchHit;
    expect(typo.item.path).toBe(TARGETS.kubernetes.path);
    expect(typo.matchReason).toContain("(typo)");
    expect(typo.relevanceScore).toBeLessThan(exact.relevanceScore);
  });

  it("highlights the matched words in snippets, HTML-escaped", async () => {
    const hit = (await search("q=espresso")).results[0] as SearchHit;
    expect(hit.item.path).toBe(TARGETS.landing.path);
    expect(hit.snippet).toContain("<mark>espresso</mark>");
    expect(hit.snippet).toContain("&amp; pastries");
    await putByPath(`${fresh()}/xss.md`, 'zqxss 1 < 2 & "quoted" <b>bold</b> <img src=x onerror=alert(1)>');
    const xss = (await search("q=zqxss")).results[0] as SearchHit;
    expect(xss.snippet).toContain("<mark>zqxss</mark>");
    expect(xss.snippet).toContain("&lt; 2 &amp; &quot;quoted&quot;");
    // No markup of the file's own survives: only <mark> and </mark> are tags.
    expect(xss.snippet?.replace(/<\/?mark>/g, "")).not.toMatch(/[<>]/);
  });

  it("applies tag, type, size and date filters to every hit, content hits included", async () => {
    const ids = async (qs: string) => (await search(qs)).results.map((h) => h.item.path).sort();
    // "payment" is in the processor's content and the test's name and content.
    expect(await ids("q=payment")).toEqual([TARGETS.payment.path, TARGETS.paymentTest.path].sort());
    expect(await ids("q=payment&tags=test")).toEqual([TARGETS.paymentTest.path]);
    expect(await ids("q=payment&tags=python,project:atlas")).toEqual([TARGETS.payment.path]);
    expect(await ids("q=payment&type=py")).toEqual([TARGETS.payment.path]);
    expect(await ids("q=payment&type=typescript")).toEqual([]);
    expect(await ids("q=payment&type=code")).toHaveLength(2);
    const sizes = (await search("q=payment")).results.map((h) => h.item.size).sort((a, b) => a - b);
    expect(await ids(`q=payment&maxSize=${sizes[0]}`)).toHaveLength(1);
    expect(await ids(`q=payment&minSize=${(sizes[0] as number) + 1}`)).toHaveLength(1);
    // Dates: move one file a year back.
    await db(env).execute(
      sql`update files set updated_at = now() - interval '365 days' where user_id = ${me.user.id} and path = ${TARGETS.payment.path}`,
    );
    const lastMonth = new Date(Date.now() - 30 * 86_400_000).toISOString();
    expect(await ids(`q=payment&after=${lastMonth}`)).toEqual([TARGETS.paymentTest.path]);
    expect(await ids(`q=payment&before=${lastMonth.slice(0, 10)}`)).toEqual([TARGETS.payment.path]);
  });

  it("counts facets over every hit (not just the page), matching the database", async () => {
    const page = await search("type=code&limit=5");
    const counts = await db(env).execute<{ tag: string; n: number }>(sql`
      select tag, count(*)::int as n from files, unnest(tags) as tag
      where user_id = ${me.user.id} and (category = 'code' or extension = 'code') group by tag`);
    const expected = Object.fromEntries(counts.rows.map((r) => [r.tag, Number(r.n)]));
    expect(page.results).toHaveLength(5);
    expect(page.total).toBe(expected.code);
    expect(page.facets.types).toEqual({ code: expected.code });
    for (const [tag, n] of Object.entries(page.facets.tags)) expect(n).toBe(expected[tag]);
    expect(Object.keys(page.facets.tags)).toHaveLength(Math.min(FILE_LIMITS.facetTags, counts.rows.length));
    // Browsing without q lists newest first.
    const times = page.results.map((h) => h.item.updatedAt);
    expect(times).toEqual([...times].sort().reverse());
  });

  it("returns each file once and pages through every hit with nextCursor", async () => {
    const all = await search("type=md&limit=100");
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: SearchResponse = await search(`type=md&limit=7${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...page.results.map((h) => h.item.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(all.total);
    await expectError(
      await api("GET", "/v1/files/search?cursor=abc", { token: me.accessToken }),
      400,
      "invalid_request",
    );
  });

  it("keeps users apart: another user's files never appear", async () => {
    const mine = await search("q=quarterly+revenue+forecast");
    const theirs = await search("q=quarterly+revenue+forecast", other.accessToken);
    expect(mine.results.every((h) => h.item.path !== "/notes/quarterly-revenue-forecast.md" || h.item.size > 40)).toBe(
      true,
    );
    expect(theirs.total).toBe(1);
    expect(theirs.results[0]?.item.size).toBe("their quarterly revenue forecast".length);
    expect(new Set(mine.results.map((h) => h.item.id)).has(theirs.results[0]?.item.id as string)).toBe(false);
    expect((await search("q=kubernetes", other.accessToken)).results).toEqual([]);
  });

  it("forgets a deleted file", async () => {
    const path = `${fresh()}/zqdeleted-notes.md`;
    const item = await json<FileItem>(await putByPath(path, "zqdeleted contents"));
    expect((await search("q=zqdeleted")).total).toBe(1);
    expect((await api("DELETE", `/v1/files/${item.id}`, { token: me.accessToken })).status).toBe(204);
    expect((await search("q=zqdeleted")).results).toEqual([]);
    await expectError(await api("GET", `/v1/files/${item.id}`, { token: me.accessToken }), 404, "not_found");
    await expectError(await api("DELETE", `/v1/files/${item.id}`, { token: me.accessToken }), 404, "not_found");
  });
});

/**
 * `count` rows straight into a user's index (as the bench's bulk load does, without R2): notes named
 * note-<n>.md with the given text, changed a second apart (or all at once), and their words in the vocabulary.
 */
async function insertNotes(userId: string, count: number, content: string, sameTime = false): Promise<void> {
  await db(env).execute(sql`
    insert into files (user_id, path, name, extension, media_type, category, size, sha256, name_key, path_key,
      name_words, path_words, content, text_status, updated_at)
    select ${userId}::uuid, '/bulk/note-' || n || '.md', 'note-' || n || '.md', 'md', 'text/markdown', 'document',
      100, 'x', 'note-' || n || '.md', '/bulk/note-' || n || '.md', 'note ' || n || ' md', 'bulk',
      case when n = 600 then ${content} || ' zqrare' else ${content} end, 'indexed',
      case when ${sameTime}::boolean then timestamptz '2026-01-01' else now() - n * interval '1 second' end
    from generate_series(1, ${count}) as n`);
  await db(env).execute(sql`
    insert into file_terms (user_id, term)
    select ${userId}::uuid, t from unnest(string_to_array(${`${content} zqrare note bulk`}, ' ')) as t
    on conflict do nothing`);
}

describe("search at scale", () => {
  let many: Tokens;
  beforeAll(async () => {
    many = await registerUser();
    await insertNotes(many.user.id, FILE_LIMITS.searchExactHits + 200, "zqmany words in every note");
    // Stored after the others, so a scan in physical order reaches it last: its name must still put it first.
    await putByPath("/late/zqmany.md", "nothing else", many.accessToken);
  }, 60_000);
  const searchMany = (qs: string) => search(qs, many.accessToken);

  it(`estimates the total and facets past ${FILE_LIMITS.searchExactHits} hits, and says so`, async () => {
    const page = await searchMany("q=zqmany&limit=10");
    expect(page.estimated).toBe(true);
    expect(page.total).toBeGreaterThan(FILE_LIMITS.searchExactHits);
    expect(page.results).toHaveLength(10);
    // Every hit is a document: the scaled facet count is the estimated total.
    expect(page.facets.types).toEqual({ document: page.total });
    expect(page.nextCursor).not.toBeNull();
  });

  it("ranks the file named after a frequent word first, wherever it is stored", async () => {
    const page = await searchMany("q=zqmany&limit=5");
    expect(page.results[0]?.item.path).toBe("/late/zqmany.md");
    expect(page.results[0]?.matchReason).toContain("name");
  });

  it("keeps a rare word exact among frequent ones: exact total, no estimate", async () => {
    const rare = await searchMany("q=zqrare");
    expect(rare).toMatchObject({ total: 1, estimated: false, nextCursor: null });
    expect(rare.results.map((h) => h.item.path)).toEqual(["/bulk/note-600.md"]);
    const both = await searchMany("q=zqmany+zqrare");
    expect(both).toMatchObject({ total: 1, estimated: false });
  });

  it("estimates the total of a filter-only listing past the cap, newest first", async () => {
    const page = await searchMany("type=document&limit=20");
    expect(page.estimated).toBe(true);
    expect(page.total).toBeGreaterThan(FILE_LIMITS.searchExactHits);
    const times = page.results.map((h) => h.item.updatedAt);
    expect(times).toEqual([...times].sort().reverse());
    expect(page.results[0]?.item.path).toBe("/late/zqmany.md");
  });

  it("pages a filter-only listing by keyset: rows changed at the same moment are each seen once, by id", async () => {
    const ties = await registerUser();
    await insertNotes(ties.user.id, 25, "zqtied", true);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: SearchResponse = await search(
        `type=md&limit=4${cursor ? `&cursor=${cursor}` : ""}`,
        ties.accessToken,
      );
      expect(page).toMatchObject({ total: 25, estimated: false });
      seen.push(...page.results.map((h) => h.item.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    expect(pages).toBe(7);
    expect(seen).toHaveLength(25);
    expect(new Set(seen).size).toBe(25);
    expect(seen).toEqual([...seen].sort().reverse());
    // A query's cursor (an offset) is not a listing's (a keyset), and the other way round.
    const queryPage = await search("q=zqtied&limit=2", ties.accessToken);
    await expectError(
      await api("GET", `/v1/files/search?type=md&cursor=${queryPage.nextCursor}`, { token: ties.accessToken }),
      400,
      "invalid_request",
    );
  });

  it("completes a prefix as typed from the vocabulary, in names and in text", async () => {
    const named = await json<FileItem>(await putByPath(`${fresh()}/zqprefixable-report.md`, text("plain\n")));
    const inText = await json<FileItem>(await putByPath(`${fresh()}/plain.md`, text("a zqcompletion of words\n")));
    const hit = (await search("q=zqprefixa")).results.map((h) => h.item.id);
    expect(hit).toContain(named.id);
    const content = (await search("q=zqcomple")).results;
    expect(content.map((h) => h.item.id)).toEqual([inText.id]);
    expect(content[0]?.matchReason).toContain("content");
    // A space after it: the word is complete, and no file holds "zqcomple" as a word.
    expect((await search(`q=${encodeURIComponent("zqcomple ")}`)).results).toEqual([]);
    // No vocabulary word starts so: nothing.
    expect((await search("q=zqnowordstartslikethis")).results).toEqual([]);
  });

  it("refuses a 1,000-word query and a 10,000-character word with 400, on both APIs", async () => {
    const thousand = Array.from({ length: 1000 }, (_, i) => `w${i}`).join(" ");
    for (const q of [thousand, "x".repeat(10_000)]) {
      const res = await api("GET", `/v1/files/search?q=${encodeURIComponent(q)}`, { token: me.accessToken });
      expect((await expectError(res, 400, "invalid_request")).error.issues?.[0]?.path).toEqual(["query", "q"]);
      const legacy = await api("POST", "/api/files/search", { token: me.accessToken, body: { query: q } });
      await expectError(legacy, 400, "invalid_request");
    }
    // The longest accepted query of many words searches its first words only, and answers.
    const words = Array.from({ length: 64 }, (_, i) => `q${i}`).join(" ");
    expect(words.length).toBeLessThanOrEqual(FILE_LIMITS.queryMaxLength);
    expect((await search(`q=${encodeURIComponent(words)}`)).results).toEqual([]);
  });
});

describe("manage", () => {
  it("renames and moves: rule tags follow, the name is searchable, a taken path is 409", async () => {
    const item = await json<FileItem>(await putByPath(`${fresh()}/draft.txt`, "zqrename body"));
    const renamed = await json<FileItem>(
      await api("PATCH", `/v1/files/${item.id}`, { token: me.accessToken, body: { name: "zqmoved.ts" } }),
    );
    expect(renamed).toMatchObject({
      name: "zqmoved.ts",
      extension: "ts",
      type: "code",
      mediaType: "text/x-typescript",
    });
    expect(renamed.ruleTags).toEqual(expect.arrayContaining(["ts", "typescript", "code"]));
    const moved = await json<FileItem>(
      await api("PATCH", `/v1/files/${item.id}`, { token: me.accessToken, body: { folder: "/projects/zqproj/src" } }),
    );
    expect(moved.path).toBe("/projects/zqproj/src/zqmoved.ts");
    expect(moved.ruleTags).toContain("project:zqproj");
    expect((await search("q=zqmoved")).results[0]?.item.id).toBe(item.id);
    const clash = await api("PATCH", `/v1/files/${item.id}`, {
      token: me.accessToken,
      body: { path: TARGETS.forecast.path },
    });
    await expectError(clash, 409, "conflict");
    await expectError(
      await api("PATCH", `/v1/files/${item.id}`, { token: me.accessToken, body: { folder: "/a/../b" } }),
      400,
      "invalid_request",
    );
  });

  it("keeps user tags apart from rule tags: add, remove, replace, and filter by them", async () => {
    const item = await json<FileItem>(await putByPath(`${fresh()}/tagged.md`, "zqtagged"));
    const patch = (body: unknown) =>
      api("PATCH", `/v1/files/${item.id}`, { token: me.accessToken, body }).then((r) => json<FileItem>(r));
    expect((await patch({ addTags: ["Alpha", "beta"] })).userTags).toEqual(["alpha", "beta"]);
    const removed = await patch({ removeTags: ["alpha", "md"] });
    expect(removed.userTags).toEqual(["beta"]);
    expect(removed.ruleTags).toContain("md"); // a rule tag cannot be removed
    expect((await patch({ tags: ["gamma"], description: "described" })).userTags).toEqual(["gamma"]);
    expect((await search("q=zqtagged&tags=gamma")).total).toBe(1);
    expect((await search("q=gamma")).results[0]?.item.id).toBe(item.id);
    const bad = await api("PATCH", `/v1/files/${item.id}`, { token: me.accessToken, body: { addTags: ["a,b"] } });
    await expectError(bad, 400, "invalid_request");
  });

  it("serves content with one Range: 206, suffix ranges, 416 past the end, 304 on the ETag", async () => {
    const item = await json<FileItem>(await putByPath(`${fresh()}/range.txt`, "0123456789"));
    const get = (headers: Record<string, string>) =>
      send("GET", `/v1/files/${item.id}/content`, { token: me.accessToken, headers });
    const whole = await get({});
    expect(whole.status).toBe(200);
    expect(whole.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(whole.headers.get("accept-ranges")).toBe("bytes");
    expect(whole.headers.get("content-disposition")).toContain("range.txt");
    expect(await whole.text()).toBe("0123456789");
    const part = await get({ Range: "bytes=2-5" });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 2-5/10");
    expect(await part.text()).toBe("2345");
    expect(await (await get({ Range: "bytes=-3" })).text()).toBe("789");
    expect(await (await get({ Range: "bytes=7-" })).text()).toBe("789");
    const past = await get({ Range: "bytes=10-20" });
    await expectError(past, 416, "range_not_satisfiable");
    expect(past.headers.get("content-range")).toBe("bytes */10");
    expect((await get({ Range: "bytes=0-1,4-5" })).status).toBe(200); // several ranges: the whole file
    expect((await get({ "If-None-Match": `"${item.sha256}"` })).status).toBe(304);
  });

  it("lists recent and large files with cursors", async () => {
    const large = await json<{ files: FileItem[]; nextCursor: string | null }>(
      await api("GET", "/v1/files?sort=size&limit=5", { token: me.accessToken }),
    );
    const sizes = large.files.map((f) => f.size);
    expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    const next = await json<{ files: FileItem[] }>(
      await api("GET", `/v1/files?sort=size&limit=5&cursor=${large.nextCursor}`, { token: me.accessToken }),
    );
    expect((next.files[0] as FileItem).size).toBeLessThanOrEqual(sizes.at(-1) as number);
    expect(next.files.some((f) => large.files.some((g) => g.id === f.id))).toBe(false);
  });

  it("reindexes a file in the request", async () => {
    const item = await json<FileItem>(await putByPath(`${fresh()}/re.md`, "zqreindex TODO later"));
    await db(env).execute(sql`update files set rule_tags = '{}' where id = ${item.id}`);
    const res = await api("POST", `/v1/files/${item.id}/reindex`, { token: me.accessToken });
    expect(res.status).toBe(200);
    expect((await json<FileItem>(res)).ruleTags).toEqual(expect.arrayContaining(["md", "todo", "document"]));
  });
});

describe("legacy /api/files", () => {
  it("searches with the old request and answers the old shape, filters applied to content hits", async () => {
    const res = await api("POST", "/api/files/search", {
      token: me.accessToken,
      headers: { "X-User-ID": other.user.id },
      body: { query: "payment", fileType: "py", maxResults: 5, includeContent: true },
    });
    expect(res.status).toBe(200);
    const hits =
      await json<{ item: Record<string, unknown>; relevanceScore: number; matchReason: string; snippet?: string }[]>(
        res,
      );
    expect(hits).toHaveLength(1);
    expect(Object.keys(hits[0]?.item ?? {}).sort()).toEqual(
      ["created", "id", "lastModified", "metadata", "mimeType", "name", "path", "size", "tags", "type"].sort(),
    );
    expect(hits[0]?.item).toMatchObject({ path: TARGETS.payment.path, mimeType: "text/x-python", type: "code" });
    expect(hits[0]?.snippet).toContain("<mark>");
    // includeContent: false looks at names, tags and folders only.
    const namesOnly = await api("POST", "/api/files/search", {
      token: me.accessToken,
      body: { query: "espresso", includeContent: false },
    });
    expect(await namesOnly.json()).toEqual([]);
  });

  it("lists recent and large files in the old shape", async () => {
    const recent = await json<{ lastModified: string }[]>(
      await apiPatient("GET", "/api/files/recent?limit=3", { token: me.accessToken }),
    );
    expect(recent).toHaveLength(3);
    const large = await json<{ size: number }[]>(
      await apiPatient("GET", "/api/files/large?limit=3", { token: me.accessToken }),
    );
    expect(large.map((f) => f.size)).toEqual(large.map((f) => f.size).sort((a, b) => b - a));
    expect((await api("GET", "/api/files/recent")).status).toBe(401);
  });
});

describe("the pieces", () => {
  const facts = (over: Partial<FileFacts>): FileFacts => ({
    name: "notes.md",
    path: "/notes.md",
    extension: "md",
    mediaType: "text/markdown",
    category: "document",
    language: null,
    size: 100,
    content: "hello",
    ...over,
  });

  it("FILES_TAG_RULES disables rules and adds pattern rules; a bad pattern is refused", () => {
    const config = TagRulesConfig.parse({
      disable: ["size-class", "extension"],
      add: [{ id: "invoices", tag: "Finance", field: "name", pattern: "invoice" }],
    });
    const rules = activeRules(config);
    expect(ruleTags(rules, facts({ name: "Invoice-3.md", path: "/Invoice-3.md" }))).toEqual(["document", "finance"]);
    expect(ruleTags(activeRules(TagRulesConfig.parse({})), facts({}))).toEqual(["document", "md", "size:small"]);
    expect(TagRulesConfig.safeParse({ add: [{ id: "x", tag: "x", field: "name", pattern: "(" }] }).success).toBe(false);
    expect(TagRulesConfig.safeParse({ unknown: true }).success).toBe(false);
  });

  it("tells media types from magic bytes, refined by the extension where the signature is a container", () => {
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0, 0]);
    expect(sniffMagic(zip)).toBe("application/zip");
    expect(describeMedia("report.docx", sniffMagic(zip), false).mediaType).toContain("wordprocessingml");
    expect(describeMedia("photo.txt", "image/png", false)).toMatchObject({ mediaType: "image/png", category: "media" });
    expect(describeMedia("Dockerfile", null, true)).toMatchObject({ category: "code", language: "dockerfile" });
    expect(describeMedia("data.bin", null, true, "application/json").mediaType).toBe("application/json");
    expect(describeMedia("blob", null, false, "text/plain").mediaType).toBe("application/octet-stream");
  });

  it("reads one byte range, and says when it cannot be satisfied", () => {
    expect(parseRange("bytes=0-0", 10)).toEqual({ offset: 0, length: 1 });
    expect(parseRange("bytes=5-100", 10)).toEqual({ offset: 5, length: 5 });
    expect(parseRange("bytes=-20", 10)).toEqual({ offset: 0, length: 10 });
    expect(parseRange("bytes=10-", 10)).toBe("unsatisfiable");
    expect(parseRange("bytes=5-2", 10)).toBeUndefined();
    expect(parseRange("items=0-1", 10)).toBeUndefined();
  });

  it("computes the same capped distances as a reference optimal string alignment, for 400 random pairs", async () => {
    // The reference: the textbook OSA matrix in full, no early exit, capped at the end.
    const osa = (a: string, b: string) => {
      const x = [...a];
      const y = [...b];
      const d = Array.from({ length: x.length + 1 }, (_, i) => Array.from({ length: y.length + 1 }, (_, j) => i + j));
      for (let i = 1; i <= x.length; i++) {
        for (let j = 1; j <= y.length; j++) {
          const row = d[i] as number[];
          const up = d[i - 1] as number[];
          row[j] = Math.min(
            (up[j] as number) + 1,
            (row[j - 1] as number) + 1,
            (up[j - 1] as number) + (x[i - 1] === y[j - 1] ? 0 : 1),
          );
          if (i > 1 && j > 1 && x[i - 1] === y[j - 2] && x[i - 2] === y[j - 1]) {
            row[j] = Math.min(row[j] as number, ((d[i - 2] as number[])[j - 2] as number) + 1);
          }
        }
      }
      return (d[x.length] as number[])[y.length] as number;
    };
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // A 3-letter alphabet (one accented) and short words: most pairs are within a few edits.
    const word = () => Array.from({ length: Math.floor(random() * 8) }, () => "abé"[Math.floor(random() * 3)]).join("");
    const pairs = Array.from({ length: 400 }, (_, i) => ({ a: word(), b: word(), max: i % 4 }));
    const got = await db(env).execute<{ d: number }>(
      sql`select file_word_distance(p->>'a', p->>'b', (p->>'max')::int) as d
        from jsonb_array_elements(${JSON.stringify(pairs)}::jsonb) with ordinality as x(p, n) order by n`,
    );
    expect(got.rows.map((r) => r.d)).toEqual(pairs.map((p) => Math.min(osa(p.a, p.b), p.max + 1)));
  });

  it("counts a transposition as one typo, and allows none under 5 letters", async () => {
    const distance = async (a: string, b: string) =>
      (await db(env).execute<{ d: number }>(sql`select file_word_distance(${a}, ${b}, 2) as d`)).rows[0]?.d;
    expect(await distance("recieve", "receive")).toBe(1);
    expect(await distance("kubernets", "kubernetes")).toBe(1);
    expect(await distance("abcdef", "uvwxyz")).toBe(3);
    expect(await distance("ab", "ba")).toBe(1);
    expect(await distance("", "abc")).toBe(3);
    expect([typoBudget("cat"), typoBudget("house"), typoBudget("deployment")]).toEqual([0, 1, 2]);
    // Numbers and identifiers with digits are never corrected (docs/files.md "Typos").
    expect([typoBudget("report2024"), typoBudget("123456")]).toEqual([0, 0]);
    expect(identifierWords("getUserProfile_v2.test.ts")).toBe("getuserprofile v2 test ts get user profile");
    expect(htmlToText("<p>a&nbsp;&amp;&#x41;<script>x</script></p><!-- c -->")).toBe("a &A");
  });
});
