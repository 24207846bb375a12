// Documents in the file index: an Office file's text is extracted where its other text would be decoded, each part
// introduced by its position ("[page 2]", "[sheet Totals]") so a snippet can say where a word is. Pure, like the
// rest of indexing (the benchmark's bulk loader runs it in Node). PDFs: pdf-indexing.ts.
import type { Extracted } from "../files/text";
import { documentFormat, extractAtEdge } from "./extract";
import { type DocumentFormat, documentText, type ExtractedDocument } from "./model";

/** Formats whose bytes are not text but whose text the index wants: the edge reads these, the worker reads PDF. */
const INDEXED_BINARY: ReadonlySet<DocumentFormat> = new Set(["docx", "xlsx", "pptx", "epub", "pdf"]);

/** The document format of a file the index extracts (rather than decodes), or null. */
export function indexedDocumentFormat(mediaType: string): DocumentFormat | null {
  const format = documentFormat(mediaType);
  return format && INDEXED_BINARY.has(format) ? format : null;
}

/** A document's index text, cut at `maxBytes` of UTF-8 like any other file's. */
export function documentIndexText(document: ExtractedDocument, maxBytes: number): Extracted {
  const full = documentText(document);
  if (!document.parts.some((p) => p.blocks.length > 0)) return { status: "empty", content: null, truncated: false };
  const encoded = new TextEncoder().encode(full);
  if (encoded.byteLength <= maxBytes) return { status: "indexed", content: full, truncated: document.truncated };
  let end = maxBytes;
  while (end > 0 && ((encoded[end] as number) & 0xc0) === 0x80) end--;
  return { status: "indexed", content: new TextDecoder().decode(encoded.subarray(0, end)), truncated: true };
}

/** An Office file's index text, read in the request or the queue; a corrupt one is `failed`, never an error. */
export function officeIndexText(bytes: Uint8Array, format: DocumentFormat, maxBytes: number): Extracted {
  try {
    return documentIndexText(extractAtEdge(bytes, format), maxBytes);
  } catch {
    return { status: "failed", content: null, truncated: false };
  }
}
