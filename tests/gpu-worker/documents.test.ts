// The `document.extract` engine on PDFs the test writes with pdf-lib: pdf.js reads the text layer into headings,
// paragraphs and table rows with their page numbers; a scanned page is read by the real OCR engine; encrypted,
// corrupt and over-long files end the job for good with a message, never a retry.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { backend } from "../../gpu-worker/backends";
import type { JobOutput, LoadedModel, RunContext } from "../../gpu-worker/backends/types";
import { JobError } from "../../gpu-worker/errors";
import { silentLog } from "../../gpu-worker/log";
import { ExtractedDocument } from "../../src/lib/documents/model";
import { DocumentExtractResult } from "../../src/lib/jobs/protocol";
import { encryptedPdf, pdf } from "../support/documents";
import { renderText } from "./support/images";

const run = (): RunContext => ({ signal: new AbortController().signal, progress: () => {}, log: silentLog });
let model: LoadedModel;

beforeAll(async () => {
  const entry = {
    id: "pdfjs",
    backend: "pdfjs" as const,
    vramMiB: 0,
    keepAliveMs: 0,
    concurrency: 1,
    pinned: false,
    options: {},
  };
  model = await (await backend("pdfjs")).load(entry, { device: "cpu", threads: 2, log: silentLog });
});
afterAll(async () => {
  await model?.unload();
});

async function extract(bytes: Uint8Array, options: Record<string, number> = {}) {
  const out: JobOutput = await model.run(
    { type: "document.extract", bytes, mediaType: "application/pdf", options },
    run(),
  );
  const result = DocumentExtractResult.parse(out.result);
  const artifact = out.artifacts?.find((a) => a.name === result.artifact);
  const document = ExtractedDocument.parse(JSON.parse(new TextDecoder().decode(artifact?.bytes)));
  return { result, document };
}

async function failure(bytes: Uint8Array): Promise<JobError> {
  const err = await extract(bytes).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(JobError);
  return err as JobError;
}

describe("document.extract (pdf.js)", () => {
  it("reads headings, paragraphs and a table row by row, each on its page, with the title", async () => {
    const bytes = await pdf(
      [
        { heading: "Harbour Report", lines: ["The lighthouse keeper counted ships at dawn."] },
        {
          lines: ["Second page words: anchorage and tides."],
          table: [
            ["Region", "Ships"],
            ["North", "12"],
            ["South", "7"],
          ],
        },
      ],
      "Harbour Report 2026",
    );
    const { result, document } = await extract(bytes);
    expect(result).toMatchObject({ format: "pdf", pages: 2, truncated: false });
    expect(document.title).toBe("Harbour Report 2026");
    const [first, second] = document.parts;
    expect(first).toMatchObject({ kind: "page", number: 1, source: "text" });
    expect(first?.blocks).toEqual([
      { type: "heading", level: 1, text: "Harbour Report" },
      { type: "paragraph", text: "The lighthouse keeper counted ships at dawn." },
    ]);
    expect(second?.number).toBe(2);
    expect(second?.blocks).toContainEqual({ type: "paragraph", text: "Second page words: anchorage and tides." });
    expect(second?.blocks).toContainEqual({
      type: "table",
      rows: [
        ["Region", "Ships"],
        ["North", "12"],
        ["South", "7"],
      ],
    });
  });

  it("sends a page without a text layer to OCR and marks it so", async () => {
    const scan = await renderText("Scanned invoice 4821", { width: 520, height: 120 });
    const { document } = await extract(await pdf([{ lines: ["Cover letter"] }, { scan }]));
    expect(document.parts[0]).toMatchObject({ number: 1, source: "text" });
    expect(document.parts[1]).toMatchObject({ number: 2, source: "ocr" });
    expect(document.parts[1]?.blocks).toEqual([{ type: "paragraph", text: "Scanned invoice 4821" }]);
    expect(document.stats.ocrParts).toBe(1);
  });

  it("reads at most maxPages pages and says the rest were left out", async () => {
    const pages = Array.from({ length: 12 }, (_, i) => ({ lines: [`page ${i + 1} text`] }));
    const { result, document } = await extract(await pdf(pages), { maxPages: 5 });
    expect(result).toMatchObject({ pages: 12, truncated: true });
    expect(document.parts.map((p) => p.number)).toEqual([1, 2, 3, 4, 5]);
  });

  it("fails an encrypted PDF for good, saying it is encrypted", async () => {
    const err = await failure(await encryptedPdf());
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(/encrypted/);
  });

  it("fails a corrupt PDF for good, without a path or a stack in the message", async () => {
    const good = await pdf([{ lines: ["soon to be cut"] }]);
    const err = await failure(good.subarray(0, 200));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe("The file is not a readable PDF: it may be corrupt or truncated");
  });
});
