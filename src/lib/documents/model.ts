// A document as extraction returns it: its parts in reading order (pages, sheets or slides), each a list of
// blocks. Zod-only, because the GPU worker extracts PDFs and completes its job with this same shape (docs/documents.md).
import { z } from "zod";
import { JOB_LIMITS } from "../jobs/protocol";

export const DOCUMENT_FORMATS = ["pdf", "docx", "xlsx", "pptx", "epub", "csv", "html", "markdown", "text"] as const;
export const DocumentFormat = z.enum(DOCUMENT_FORMATS);
export type DocumentFormat = z.infer<typeof DocumentFormat>;

export const DocumentBlock = z.discriminatedUnion("type", [
  z.object({ type: z.literal("heading"), level: z.number().int().min(1).max(6), text: z.string() }),
  z.object({ type: z.literal("paragraph"), text: z.string() }),
  z.object({ type: z.literal("table"), rows: z.array(z.array(z.string())) }),
]);
export type DocumentBlock = z.infer<typeof DocumentBlock>;

/** Where a part sits: a PDF page, a spreadsheet sheet, a slide, or (for flowing formats) a section between breaks. */
const PartKind = z.enum(["page", "sheet", "slide", "section"]);

export const DocumentPart = z.object({
  kind: PartKind,
  /** 1-based position among parts of its kind. */
  number: z.number().int().positive(),
  /** A sheet's or slide's title where the format names it. */
  name: z.string().optional(),
  /** How the text was obtained: read from the file, or recognised from an image of the page (OCR). */
  source: z.enum(["text", "ocr"]).default("text"),
  blocks: z.array(DocumentBlock),
});
export type DocumentPart = z.infer<typeof DocumentPart>;

export const ExtractedDocument = z.object({
  format: DocumentFormat,
  title: z.string().optional(),
  parts: z.array(DocumentPart),
  /** Parts past the page limit were not read. */
  truncated: z.boolean(),
  stats: z.object({ parts: z.number().int(), characters: z.number().int(), ocrParts: z.number().int() }),
});
export type ExtractedDocument = z.infer<typeof ExtractedDocument>;

/** The limits every extraction runs under; each is explicit and documented in docs/documents.md. */
export const DOCUMENT_LIMITS = {
  /** The largest file extracted: a GPU job's input limit, so that every format has the same one. */
  maxBytes: JOB_LIMITS.maxInputBytes,
  /** Parts (pages, sheets, slides) read; the rest are left out and the result says `truncated`. */
  maxParts: 500,
  /** Bytes a zip-based format (DOCX, XLSX, PPTX, EPUB) may inflate to, all entries together: zip bombs stop here. */
  maxExpandedBytes: 64 * 1024 * 1024,
  /** Entries in such a zip. */
  maxZipEntries: 5000,
  /** Characters of text returned; extraction stops adding blocks past it and says `truncated`. */
  maxCharacters: 4 * 1024 * 1024,
  /** Rows read from one sheet or CSV. */
  maxRowsPerTable: 10_000,
} as const;

/** Counts and caps as blocks are added, so every extractor stops at the same limits. */
export class DocumentBuilder {
  readonly parts: DocumentPart[] = [];
  private characters = 0;
  truncated = false;

  constructor(readonly format: DocumentFormat) {}

  /** A new part, or null once the part limit is reached (the caller stops reading). */
  part(kind: DocumentPart["kind"], name?: string, source: "text" | "ocr" = "text"): DocumentPart | null {
    if (this.parts.length >= DOCUMENT_LIMITS.maxParts) {
      this.truncated = true;
      return null;
    }
    const number = this.parts.filter((p) => p.kind === kind).length + 1;
    const part: DocumentPart = { kind, number, source, blocks: [], ...(name ? { name } : {}) };
    this.parts.push(part);
    return part;
  }

  /** Adds a block unless it is empty or the character limit is reached; false once full. */
  add(part: DocumentPart, block: DocumentBlock): boolean {
    const size = block.type === "table" ? block.rows.reduce((n, r) => n + r.join(" ").length, 0) : block.text.length;
    if (size === 0) return true;
    if (this.characters + size > DOCUMENT_LIMITS.maxCharacters) {
      this.truncated = true;
      return false;
    }
    this.characters += size;
    part.blocks.push(block);
    return true;
  }

  done(title?: string): ExtractedDocument {
    const parts = this.parts.filter((p) => p.blocks.length > 0 || p.kind !== "section");
    return {
      format: this.format,
      ...(title ? { title } : {}),
      parts,
      truncated: this.truncated,
      stats: {
        parts: parts.length,
        characters: this.characters,
        ocrParts: parts.filter((p) => p.source === "ocr").length,
      },
    };
  }
}

/** The document as plain text for indexing, each part introduced by its position ("page 2", "sheet Totals"). */
export function documentText(doc: ExtractedDocument): string {
  const out: string[] = [];
  for (const part of doc.parts) {
    out.push(`[${part.kind} ${part.name ?? part.number}]`);
    for (const block of part.blocks) {
      out.push(block.type === "table" ? block.rows.map((r) => r.join(" | ")).join("\n") : block.text);
    }
  }
  return out.join("\n");
}
