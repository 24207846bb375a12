// /v1/documents: structured text (parts, headings, tables) from a stored file or an upload. The edge reads the
// Office, text and web formats in the request; a PDF is a `document.extract` job on the GPU worker, waited for as
// long as `Prefer: wait=N` allows (docs/documents.md).
import type { Context } from "hono";
import { z } from "zod";
import type { OwnedJob } from "../durable-objects/job-board";
import { waitForJob } from "../src/lib/audio/openai-audio";
import { db } from "../src/lib/db/client";
import { refused } from "../src/lib/documents/errors";
import { documentFormat, extractAtEdge } from "../src/lib/documents/extract";
import { DOCUMENT_LIMITS, ExtractedDocument } from "../src/lib/documents/model";
import { extractedDocument, readsAtEdge, requireDocumentFormat, submitExtraction } from "../src/lib/documents/service";
import { describe, sniffMagic } from "../src/lib/files/media";
import { blobKey, getFile } from "../src/lib/files/store";
import { looksBinary } from "../src/lib/files/text";
import { principal } from "../src/lib/identity/auth";
import { jobBoard, jobInputKey, publicJob } from "../src/lib/jobs/board";
import { DocumentExtractResult, JobRecord } from "../src/lib/jobs/protocol";
import { SUBMISSION_BODY_LIMIT, submissionJobId } from "../src/lib/jobs/submission";
import { fromBase64, toBase64 } from "../src/lib/platform/base64";
import type { AppEnv } from "../src/lib/platform/env";
import { ApiError } from "../src/lib/platform/errors";
import { preferredWaitMs } from "../src/lib/platform/prefer";
import { ApiRouter } from "../src/lib/platform/router";

/** How long a PDF extraction is waited for by default, and at most (`Prefer: wait=N` picks within it). */
const WAIT_DEFAULT_MS = 20_000;
const WAIT_MAX_MS = 60_000;

const MaxPages = z.number().int().min(1).max(DOCUMENT_LIMITS.maxParts).optional();

const ExtractRequest = z.union([
  z.object({ fileId: z.uuid(), maxPages: MaxPages }).strict(),
  z
    .object({
      file: z
        .object({
          base64: z.string().min(1),
          mediaType: z.string().min(1).max(128),
          name: z.string().min(1).max(255).optional().describe("The file's name: its extension helps name the format"),
        })
        .strict(),
      maxPages: MaxPages,
    })
    .strict(),
]);

const ExtractResponse = z.object({ document: ExtractedDocument, jobId: z.string().optional() });

async function extractFromForm(form: FormData): Promise<unknown> {
  const file = form.get("file");
  const maxPages = form.get("maxPages");
  return {
    file:
      file instanceof File
        ? {
            base64: toBase64(new Uint8Array(await file.arrayBuffer())),
            mediaType: file.type || "application/octet-stream",
            name: file.name || undefined,
          }
        : undefined,
    maxPages: typeof maxPages === "string" ? Number(maxPages) : undefined,
  };
}

const ZIP_FORMATS = new Set(["docx", "xlsx", "pptx", "epub"]);

/**
 * What an upload is: its signature and name first, the client's word only where they say nothing, or where it
 * names an Office format and the bytes are the zip that every Office format is.
 */
function uploadMediaType(bytes: Uint8Array, clientType: string, name: string | undefined): string {
  const magic = sniffMagic(bytes);
  const found = describe(name ?? "", magic, magic === null && !looksBinary(bytes), clientType).mediaType;
  const claimed = documentFormat(clientType);
  return found === "application/zip" && claimed && ZIP_FORMATS.has(claimed) ? clientType : found;
}

/** A finished extraction job as the answer; a running one as 202 with its link. */
async function answerJob(c: Context<AppEnv>, job: OwnedJob): Promise<Response> {
  if (job.status === "completed") {
    const result = DocumentExtractResult.safeParse(job.result);
    if (!result.success) throw new ApiError("upstream_error", "The GPU worker's extraction result is malformed");
    return c.json({ document: await extractedDocument(c.env, job.id, result.data.artifact), jobId: job.id });
  }
  if (job.status === "queued" || job.status === "running") {
    c.header("Location", `/v1/documents/jobs/${job.id}`);
    return c.json(publicJob(job), 202);
  }
  // The worker's reasons name the document's fault (encrypted, corrupt) and no internals.
  throw new ApiError("unprocessable", job.error ?? `The extraction ${job.status}`);
}

export const documentsService = new ApiRouter("documents")
  .route(
    {
      method: "post",
      path: "/extract",
      auth: "user",
      summary: "Structured text of a document: parts (pages, sheets, slides), headings, paragraphs, tables as rows",
      description:
        "`{fileId}` for a stored file, or an upload (`{file: {base64, mediaType, name?}}` or multipart `file`). " +
        "DOCX, XLSX, PPTX, CSV, HTML, Markdown and text answer at once; a PDF runs on the GPU worker and is waited " +
        `for up to \`Prefer: wait=N\` seconds (default ${WAIT_DEFAULT_MS / 1000}, at most ${WAIT_MAX_MS / 1000}), ` +
        "else 202 with the job (`Location: /v1/documents/jobs/:id`). Limits: docs/documents.md.",
      body: ExtractRequest,
      multipart: extractFromForm,
      bodyLimit: SUBMISSION_BODY_LIMIT,
      timeoutMs: WAIT_MAX_MS + 10_000,
      responses: {
        200: { description: "The document", schema: ExtractResponse },
        202: { description: "A PDF still being read: the job", schema: JobRecord },
        413: { description: "Over the byte limit" },
        415: { description: "Not a document format" },
        422: { description: "Corrupt, encrypted, or over a limit while reading (a zip bomb)" },
      },
    },
    async (c, { body }) => {
      const owner = principal(c).sub;
      let bytes: Uint8Array | undefined;
      let mediaType: string;
      let storedKey: string | undefined;
      let size: number;
      if ("fileId" in body) {
        const file = await getFile(db(c.env), owner, body.fileId);
        mediaType = file.mediaType;
        storedKey = blobKey(owner, file.sha256);
        size = file.size;
      } else {
        try {
          bytes = fromBase64(body.file.base64);
        } catch {
          throw new ApiError("invalid_request", "file.base64 is not valid base64");
        }
        mediaType = uploadMediaType(bytes, body.file.mediaType, body.file.name);
        size = bytes.byteLength;
      }
      if (size > DOCUMENT_LIMITS.maxBytes) {
        throw new ApiError("payload_too_large", `A document is at most ${DOCUMENT_LIMITS.maxBytes} bytes`);
      }
      const format = requireDocumentFormat(mediaType);
      if (readsAtEdge(format)) {
        if (!bytes) {
          const object = storedKey ? await c.env.FILES.get(storedKey) : null;
          if (!object) throw new ApiError("not_found", "The file's content is missing; upload it again");
          bytes = new Uint8Array(await object.arrayBuffer());
        }
        const document = extractAtEdge(bytes, format);
        if (body.maxPages && document.parts.length > body.maxPages) {
          document.parts = document.parts.slice(0, body.maxPages);
          document.truncated = true;
        }
        return c.json({ document });
      }
      const jobId = await submissionJobId(c, owner);
      const board = jobBoard(c.env);
      if (!(await board.get(jobId, owner))) {
        let r2Key = storedKey;
        if (!r2Key) {
          r2Key = jobInputKey(jobId);
          await c.env.FILES.put(r2Key, bytes ?? new Uint8Array(0), { httpMetadata: { contentType: mediaType } });
        }
        await submitExtraction(c.env, owner, jobId, { r2Key, mediaType, bytes: size }, body.maxPages);
      }
      const waitMs = preferredWaitMs(c.req.header("prefer"), WAIT_DEFAULT_MS, WAIT_MAX_MS);
      const job = await waitForJob(c.env, jobId, owner, waitMs);
      if (!job) throw refused("the extraction job could not be found");
      return answerJob(c, job);
    },
  )
  .route(
    {
      method: "get",
      path: "/jobs/:id",
      auth: "user",
      summary: "A PDF extraction started by POST /v1/documents/extract: the document once it is done",
      params: z.object({ id: z.string().min(1).max(128) }),
      responses: {
        200: { description: "The document", schema: ExtractResponse },
        202: { description: "Still being read: the job", schema: JobRecord },
        404: { description: "No such extraction of yours" },
        422: { description: "The extraction failed: why" },
      },
    },
    async (c, { params }) => {
      const job = await jobBoard(c.env).get(params.id, principal(c).sub);
      if (job?.type !== "document.extract") throw new ApiError("not_found", "No such extraction");
      return answerJob(c, job);
    },
  );
