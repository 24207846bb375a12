// Documents as routes and the indexer use them: a format the edge reads is extracted in the request; a PDF
// becomes a `document.extract` job whose artifact is the extracted document (docs/documents.md).
import { jobArtifactKey, jobBoard } from "../jobs/board";
import type { JobInputRef } from "../jobs/protocol";
import type { Env } from "../platform/env";
import { ApiError } from "../platform/errors";
import { refused } from "./errors";
import { documentFormat } from "./extract";
import { DOCUMENT_LIMITS, type DocumentFormat, ExtractedDocument } from "./model";

/** The format of a media type that extraction reads, or 415 naming what it does read. */
export function requireDocumentFormat(mediaType: string): DocumentFormat {
  const format = documentFormat(mediaType);
  if (!format) {
    throw new ApiError(
      "unsupported_media_type",
      "Documents are PDF, DOCX, XLSX, PPTX, CSV, HTML, Markdown or plain text; this file is none of them",
    );
  }
  return format;
}

export const readsAtEdge = (format: DocumentFormat) => format !== "pdf";

/** Queues a PDF's extraction on the GPU worker. The input may be any R2 object (an upload, a stored file). */
export async function submitExtraction(
  env: Env,
  owner: string,
  jobId: string,
  input: Extract<JobInputRef, { r2Key: string }>,
  maxPages: number = DOCUMENT_LIMITS.maxParts,
): Promise<void> {
  if (input.bytes > DOCUMENT_LIMITS.maxBytes) throw refused(`it is over ${DOCUMENT_LIMITS.maxBytes} bytes`);
  await jobBoard(env).enqueue({ id: jobId, owner, type: "document.extract", input, options: { maxPages } });
}

/** The document a completed `document.extract` job wrote. */
export async function extractedDocument(env: Env, jobId: string, artifact: string): Promise<ExtractedDocument> {
  const object = await env.FILES.get(jobArtifactKey(jobId, artifact));
  if (!object) throw new ApiError("not_found", "The extraction's document is gone; extract the file again");
  const parsed = ExtractedDocument.safeParse(await object.json());
  if (!parsed.success) throw new ApiError("upstream_error", "The GPU worker returned a malformed document");
  return parsed.data;
}
