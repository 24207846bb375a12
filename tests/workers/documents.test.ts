// /v1/documents/extract at the edge: DOCX, XLSX, PPTX, CSV, HTML and Markdown read in the request with their
// positions, headings and tables; uploads and stored files alike; a PDF handed to the GPU worker as a job; and the
// refusals: not a document, corrupt, a zip bomb, too large. Files the tests write themselves (tests/support).
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { extractAtEdge } from "../../src/lib/documents/extract";
import { DOCUMENT_LIMITS, type ExtractedDocument } from "../../src/lib/documents/model";
import { toBase64 } from "../../src/lib/platform/base64";
import { docx, epub, pdf, pptx, xlsx, zipBombDocx } from "../support/documents";
import { api, type ErrorJson, json, registerUser, send, type Tokens } from "./support";

const DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document";

let user: Tokens;
beforeAll(async () => {
  user = await registerUser();
});

async function extractUpload(bytes: Uint8Array, mediaType: string, name?: string, headers?: Record<string, string>) {
  return api("POST", "/v1/documents/extract", {
    token: user.accessToken,
    body: { file: { base64: toBase64(bytes), mediaType, ...(name ? { name } : {}) } },
    headers,
  });
}

async function documentOf(res: Response): Promise<ExtractedDocument> {
  expect(res.status).toBe(200);
  return (await json<{ document: ExtractedDocument }>(res)).document;
}

describe("formats read at the edge", () => {
  it("DOCX: headings by style, paragraphs, a table's rows, page breaks as page numbers, the title", async () => {
    const bytes = docx(
      [
        { heading: "Harbour Report" },
        { text: "The lighthouse keeper counted ships." },
        {
          table: [
            ["Region", "Ships"],
            ["North", "12"],
          ],
        },
        "pagebreak",
        { heading: "Tides", level: 2 },
        { text: "Second page text about anchorage." },
      ],
      "Harbour 2026",
    );
    const doc = await documentOf(await extractUpload(bytes, DOCX));
    expect(doc.format).toBe("docx");
    expect(doc.title).toBe("Harbour 2026");
    expect(doc.parts.map((p) => [p.kind, p.number])).toEqual([
      ["page", 1],
      ["page", 2],
    ]);
    expect(doc.parts[0]?.blocks).toEqual([
      { type: "heading", level: 1, text: "Harbour Report" },
      { type: "paragraph", text: "The lighthouse keeper counted ships." },
      {
        type: "table",
        rows: [
          ["Region", "Ships"],
          ["North", "12"],
        ],
      },
    ]);
    expect(doc.parts[1]?.blocks).toEqual([
      { type: "heading", level: 2, text: "Tides" },
      { type: "paragraph", text: "Second page text about anchorage." },
    ]);
  });

  it("XLSX: one named sheet per part, cells in their columns, shared strings resolved", async () => {
    const bytes = xlsx([
      {
        name: "Totals",
        rows: [
          ["Region", "Sales"],
          ["North", 120],
        ],
      },
      { name: "Notes", rows: [["checked by", "Ada"]] },
    ]);
    // The client says octet-stream: the name's extension and the zip signature tell the format.
    const doc = await documentOf(await extractUpload(bytes, "application/octet-stream", "q3.xlsx"));
    expect(doc.format).toBe("xlsx");
    expect(doc.parts).toEqual([
      {
        kind: "sheet",
        number: 1,
        name: "Totals",
        source: "text",
        blocks: [
          {
            type: "table",
            rows: [
              ["Region", "Sales"],
              ["North", "120"],
            ],
          },
        ],
      },
      {
        kind: "sheet",
        number: 2,
        name: "Notes",
        source: "text",
        blocks: [{ type: "table", rows: [["checked by", "Ada"]] }],
      },
    ]);
  });

  it("PPTX: slides in presentation order with the title placeholder as heading", () => {
    const doc = extractAtEdge(
      pptx([
        { title: "Opening", lines: ["first slide body"] },
        { title: "Closing", lines: ["last words"] },
      ]),
      "pptx",
    );
    // The fixture lists slide 2 first in the presentation: reading order follows the list.
    expect(doc.parts.map((p) => [p.kind, p.number, p.blocks[0]])).toEqual([
      ["slide", 1, { type: "heading", level: 1, text: "Closing" }],
      ["slide", 2, { type: "heading", level: 1, text: "Opening" }],
    ]);
    expect(doc.parts[1]?.blocks[1]).toEqual({ type: "paragraph", text: "first slide body" });
  });

  it("CSV with quotes and embedded newlines; HTML without its scripts; Markdown with a GFM table", () => {
    const csv = extractAtEdge(new TextEncoder().encode('name,note\n"Smith, J","line one\nline two"\n'), "csv");
    expect(csv.parts[0]?.blocks).toEqual([
      {
        type: "table",
        rows: [
          ["name", "note"],
          ["Smith, J", "line one\nline two"],
        ],
      },
    ]);

    const html = extractAtEdge(
      new TextEncoder().encode(
        "<html><head><title>Page</title><script>var secret = 1;</script></head><body><h2>Menu</h2><p>Soup &amp; bread</p><table><tr><th>Dish</th><th>Price</th></tr><tr><td>Soup</td><td>4</td></tr></table></body></html>",
      ),
      "html",
    );
    expect(html.title).toBe("Page");
    expect(html.parts[0]?.blocks).toEqual([
      { type: "heading", level: 2, text: "Menu" },
      { type: "paragraph", text: "Soup & bread" },
      {
        type: "table",
        rows: [
          ["Dish", "Price"],
          ["Soup", "4"],
        ],
      },
    ]);

    const md = extractAtEdge(
      new TextEncoder().encode("# Title\n\nSome *emphasised* [link](http://x).\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"),
      "markdown",
    );
    expect(md.parts[0]?.blocks).toEqual([
      { type: "heading", level: 1, text: "Title" },
      { type: "paragraph", text: "Some emphasised link." },
      {
        type: "table",
        rows: [
          ["a", "b"],
          ["1", "2"],
        ],
      },
    ]);
  });

  it("EPUB: chapters in spine order (not file order) as sections, the package title; found by file search", async () => {
    const bytes = epub(
      [
        { heading: "Departure", paragraphs: ["The ketch left Marrowby at dawn."] },
        { heading: "Landfall", paragraphs: ["They sighted the quillwort cliffs."] },
      ],
      "The Voyage",
    );
    const doc = await documentOf(await extractUpload(bytes, "application/epub+zip", "voyage.epub"));
    expect(doc).toMatchObject({ format: "epub", title: "The Voyage", truncated: false });
    expect(doc.parts.map((p) => [p.kind, p.number, p.blocks])).toEqual([
      [
        "section",
        1,
        [
          { type: "heading", level: 1, text: "Departure" },
          { type: "paragraph", text: "The ketch left Marrowby at dawn." },
        ],
      ],
      [
        "section",
        2,
        [
          { type: "heading", level: 1, text: "Landfall" },
          { type: "paragraph", text: "They sighted the quillwort cliffs." },
        ],
      ],
    ]);
    // Uploaded, it is indexed like the Office formats: a word of chapter 2 is found, the snippet says where.
    const put = await send("PUT", "/v1/files/by-path?path=%2Fbooks%2Fvoyage.epub", {
      token: user.accessToken,
      body: bytes,
      headers: { "Content-Type": "application/epub+zip" },
    });
    expect(put.status).toBe(201);
    const found = await json<{ results: { item: { name: string }; snippet: string | null }[] }>(
      await api("GET", "/v1/files/search?q=quillwort", { token: user.accessToken }),
    );
    expect(found.results[0]?.item.name).toBe("voyage.epub");
    expect(found.results[0]?.snippet).toContain("[section 2]");
  });

  it("extracts a stored file by id", async () => {
    const bytes = docx([{ text: "stored file words" }]);
    const put = await send("PUT", "/v1/files/by-path?path=%2Freports%2Fstored.docx", {
      token: user.accessToken,
      body: bytes,
      headers: { "Content-Type": DOCX },
    });
    expect(put.status).toBeLessThan(300);
    const { id } = await json<{ id: string }>(put);
    const doc = await documentOf(
      await api("POST", "/v1/documents/extract", { token: user.accessToken, body: { fileId: id } }),
    );
    expect(doc.parts[0]?.blocks).toEqual([{ type: "paragraph", text: "stored file words" }]);
    // Another user's id is not found, not extracted.
    const other = await registerUser();
    const res = await api("POST", "/v1/documents/extract", { token: other.accessToken, body: { fileId: id } });
    expect(res.status).toBe(404);
  });
});

describe("refusals", () => {
  it("415 for a file that is not a document", async () => {
    const res = await extractUpload(
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2]),
      "image/png",
    );
    expect(res.status).toBe(415);
    expect((await json<ErrorJson>(res)).error.code).toBe("unsupported_media_type");
  });

  it("422 for a corrupt DOCX (its compressed text overwritten), without internals", async () => {
    const bytes = docx([{ text: "some words ".repeat(500) }]);
    // The local header is 30 bytes plus the entry's name; everything after it up to the end is compressed data.
    for (let i = 80; i < bytes.length - 200; i++) bytes[i] = 0xff;
    const res = await extractUpload(bytes, DOCX);
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error).toMatchObject({ code: "unprocessable" });
  });

  it("422 for a zip bomb: inflation stops at the expanded-size limit", async () => {
    const bomb = zipBombDocx(DOCUMENT_LIMITS.maxExpandedBytes + 1024 * 1024);
    expect(bomb.byteLength).toBeLessThan(200_000);
    const res = await extractUpload(bomb, DOCX);
    expect(res.status).toBe(422);
    expect((await json<ErrorJson>(res)).error.message).toMatch(/expands past/);
  });

  it("400 for bad input shapes; 401 without a token", async () => {
    const bad = await api("POST", "/v1/documents/extract", { token: user.accessToken, body: { fileId: "nope" } });
    expect(bad.status).toBe(400);
    const nul = await api("POST", "/v1/documents/extract", {
      token: user.accessToken,
      body: { file: { base64: "@@@", mediaType: DOCX } },
    });
    expect(nul.status).toBe(400);
    const anon = await api("POST", "/v1/documents/extract", { body: { fileId: crypto.randomUUID() } });
    expect(anon.status).toBe(401);
  });
});

describe("PDF through the GPU worker", () => {
  it("becomes a document.extract job: 202 with its link when no worker answers within Prefer: wait", async () => {
    const bytes = await pdf([{ lines: ["waiting for a worker"] }]);
    const res = await extractUpload(bytes, "application/pdf", undefined, { Prefer: "wait=0" });
    expect(res.status).toBe(202);
    const job = await json<{ id: string; type: string; status: string }>(res);
    expect(job).toMatchObject({ type: "document.extract", status: "queued" });
    expect(res.headers.get("Location")).toBe(`/v1/documents/jobs/${job.id}`);
    const stored = await env.FILES.get(`jobs/${job.id}/input`);
    expect(new Uint8Array(await (stored as R2ObjectBody).arrayBuffer())).toEqual(bytes);
    const again = await api("GET", `/v1/documents/jobs/${job.id}`, { token: user.accessToken });
    expect(again.status).toBe(202);
    const other = await registerUser();
    expect((await api("GET", `/v1/documents/jobs/${job.id}`, { token: other.accessToken })).status).toBe(404);
  });
});
