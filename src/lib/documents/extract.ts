// Which format a file is, and extraction of the formats the edge reads itself. PDF is read by the GPU worker
// (pdf.js is too large for the Worker bundle and its CPU budget, and a page without a text layer needs OCR there);
// the route and the indexer hand PDFs to the `document.extract` job type (docs/documents.md).
import { decodeText } from "../files/text";
import { extractCsv } from "./csv";
import { extractDocx } from "./docx";
import { extractEpub } from "./epub";
import { notFormat, refused } from "./errors";
import { extractHtml } from "./html";
import { extractMarkdown } from "./markdown";
import { DOCUMENT_LIMITS, DocumentBuilder, type DocumentFormat, type ExtractedDocument } from "./model";
import { extractPptx } from "./pptx";
import { extractXlsx } from "./xlsx";

const BY_MEDIA_TYPE: Record<string, DocumentFormat> = {
  "application/pdf": "pdf",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
  "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
  "application/epub+zip": "epub",
  "text/csv": "csv",
  "text/tab-separated-values": "csv",
  "text/html": "html",
  "application/xhtml+xml": "html",
  "text/markdown": "markdown",
  "text/plain": "text",
};

/** The document format of a media type, or null for one that is not a document. */
export function documentFormat(mediaType: string): DocumentFormat | null {
  return BY_MEDIA_TYPE[mediaType.split(";")[0]?.trim().toLowerCase() ?? ""] ?? null;
}

/** Extracts a document the edge can read. Throws 413 past the byte limit and 422 for a corrupt file or a bomb. */
export function extractAtEdge(bytes: Uint8Array, format: DocumentFormat): ExtractedDocument {
  if (bytes.byteLength > DOCUMENT_LIMITS.maxBytes) throw refused(`it is over ${DOCUMENT_LIMITS.maxBytes} bytes`);
  const doc = new DocumentBuilder(format);
  let title: string | undefined;
  switch (format) {
    case "docx":
      title = extractDocx(bytes, doc);
      break;
    case "xlsx":
      title = extractXlsx(bytes, doc);
      break;
    case "pptx":
      title = extractPptx(bytes, doc);
      break;
    case "epub":
      title = extractEpub(bytes, doc);
      break;
    case "pdf":
      throw new Error("PDF is extracted by the GPU worker (the document.extract job type)");
    default: {
      const decoded = decodeText(bytes, bytes.byteLength);
      if (!decoded.ok) throw notFormat(format === "text" ? "text file" : format.toUpperCase());
      title = TEXT_EXTRACTORS[format](decoded.text, doc);
    }
  }
  return doc.done(title);
}

const TEXT_EXTRACTORS: Record<
  "csv" | "html" | "markdown" | "text",
  (s: string, d: DocumentBuilder) => string | undefined
> = {
  csv: extractCsv,
  html: extractHtml,
  markdown: extractMarkdown,
  text: (source, doc) => {
    // Form feeds are page breaks in plain text (as printers and pdftotext write them).
    for (const page of source.split("\f")) {
      const part = doc.part("page");
      if (!part) break;
      for (const para of page.split(/\n\s*\n/))
        if (!doc.add(part, { type: "paragraph", text: para.trim() })) return undefined;
    }
    return undefined;
  },
};
