// PDF text extraction with pdf.js (through unpdf's Node build): each page's text items laid out into headings,
// paragraphs and tables; a page with no text layer (a scan) is read by OCR from its largest image instead.
// The document is the job's artifact (it can be far larger than a job result may be); the result describes it.
import sharp from "sharp";
import { DOCUMENT_LIMITS, DocumentBuilder, type ExtractedDocument } from "../../src/lib/documents/model";
import type { DocumentExtractResult, OcrResult } from "../../src/lib/jobs/protocol";
import { layoutPage, type TextItem } from "../documents/pdf-layout";
import { invalidInput } from "../errors";
import { type Backend, type LoadContext, type LoadedModel, numberOption, type RunContext, requireBytes } from "./types";

type Unpdf = typeof import("unpdf");
type PdfDocument = Awaited<ReturnType<Unpdf["getDocumentProxy"]>>;

export const DOCUMENT_ARTIFACT = "document.json";

/** pdf.js names its refusals by class; each becomes a message the owner can act on, and is never retried. */
function openError(err: unknown): Error {
  const name = err instanceof Error ? err.name : "";
  if (name === "PasswordException")
    return invalidInput("The PDF is encrypted: remove its password and upload it again");
  return invalidInput("The file is not a readable PDF: it may be corrupt or truncated");
}

async function pageItems(pdf: PdfDocument, number: number): Promise<TextItem[]> {
  const page = await pdf.getPage(number);
  const content = await page.getTextContent();
  const items: TextItem[] = [];
  for (const item of content.items) {
    if (!("str" in item)) continue;
    const [, , c = 0, d = 0, x = 0, y = 0] = item.transform as number[];
    items.push({ str: item.str, x, y, width: item.width, fontSize: item.height || Math.hypot(c, d) });
  }
  page.cleanup();
  return items;
}

/** The page's largest image as PNG, for OCR; null when the page has none. */
async function pageImage(unpdf: Unpdf, pdf: PdfDocument, number: number): Promise<Uint8Array | null> {
  const images = await unpdf.extractImages(pdf, number);
  const largest = images.sort((a, b) => b.width * b.height - a.width * a.height)[0];
  if (!largest) return null;
  const raw = { width: largest.width, height: largest.height, channels: largest.channels };
  return new Uint8Array(await sharp(Buffer.from(largest.data), { raw }).png().toBuffer());
}

export const pdfBackend: Backend = {
  async load(entry, ctx: LoadContext) {
    const unpdf = await import("unpdf");
    let ocr: LoadedModel | undefined;
    const recognise = async (png: Uint8Array, run: RunContext): Promise<OcrResult> => {
      if (!ocr) ocr = await (await import("./ocr")).paddleOcrBackend.load(entry, ctx);
      const out = await ocr.run({ type: "vision.ocr", bytes: png, mediaType: "image/png", options: {} }, run);
      return out.result as OcrResult;
    };
    return {
      async run(input, run) {
        const bytes = requireBytes(input);
        let pdf: PdfDocument;
        try {
          pdf = await unpdf.getDocumentProxy(new Uint8Array(bytes));
        } catch (err) {
          throw openError(err);
        }
        try {
          const maxPages = Math.min(
            numberOption(input, "maxPages") ?? DOCUMENT_LIMITS.maxParts,
            DOCUMENT_LIMITS.maxParts,
          );
          const doc = new DocumentBuilder("pdf");
          for (let n = 1; n <= pdf.numPages; n++) {
            run.signal.throwIfAborted();
            if (n > maxPages) {
              doc.truncated = true;
              break;
            }
            const blocks = layoutPage(await pageItems(pdf, n));
            let source: "text" | "ocr" = "text";
            if (blocks.length === 0) {
              const png = await pageImage(unpdf, pdf, n);
              if (png) {
                const read = await recognise(png, run);
                source = "ocr";
                for (const line of read.lines) blocks.push({ type: "paragraph", text: line.text });
              }
            }
            const part = doc.part("page", undefined, source);
            if (!part) break;
            if (!blocks.every((b) => doc.add(part, b))) break;
            run.progress(n / Math.min(pdf.numPages, maxPages));
          }
          const meta = await pdf.getMetadata().catch(() => null);
          const info = (meta?.info ?? {}) as { Title?: unknown };
          const document: ExtractedDocument = doc.done(typeof info.Title === "string" ? info.Title : undefined);
          const result: DocumentExtractResult = {
            artifact: DOCUMENT_ARTIFACT,
            format: "pdf",
            pages: pdf.numPages,
            truncated: document.truncated,
            stats: document.stats,
          };
          return {
            result,
            artifacts: [
              {
                name: DOCUMENT_ARTIFACT,
                contentType: "application/json",
                bytes: new TextEncoder().encode(JSON.stringify(document)),
              },
            ],
          };
        } finally {
          await pdf.cleanup();
        }
      },
      async unload() {
        await ocr?.unload();
        ocr = undefined;
      },
    };
  },
};
