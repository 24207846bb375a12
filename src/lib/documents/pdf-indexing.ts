// A PDF in the file index: its text comes from a `document.extract` job, which the queue starts and then polls
// with growing delays until it ends (docs/documents.md "In file search").
import type { Extracted } from "../files/text";
import { jobBoard } from "../jobs/board";
import type { Env } from "../platform/env";
import { documentIndexText } from "./index-text";
import { extractedDocument, submitExtraction } from "./service";

/** A PDF's extraction job: one per file content, so a redelivered message finds the job it already made. */
const pdfIndexJobId = (fileId: string, sha256: string) => `doc_${fileId.replaceAll("-", "")}_${sha256.slice(0, 16)}`;

/** How often and how long the queue looks for a PDF's extraction before it gives up and marks the file failed. */
export const PDF_POLL = { maxPolls: 40, maxDelaySeconds: 30 } as const;

export async function startPdfIndexing(
  env: Env,
  userId: string,
  file: { id: string; sha256: string; size: number; key: string },
) {
  const jobId = pdfIndexJobId(file.id, file.sha256);
  if (!(await jobBoard(env).get(jobId, userId))) {
    await submitExtraction(env, userId, jobId, { r2Key: file.key, mediaType: "application/pdf", bytes: file.size });
  }
  await env.GPU_JOBS.send(
    { kind: "documents.collect", userId, fileId: file.id, sha256: file.sha256, jobId, polls: 0 },
    { delaySeconds: 1 },
  );
}

/** What became of a PDF's extraction: its text, still running (ask again later), or failed. */
export async function pdfIndexResult(
  env: Env,
  userId: string,
  jobId: string,
  maxBytes: number,
): Promise<Extracted | "pending"> {
  const job = await jobBoard(env).get(jobId, userId);
  if (!job) return { status: "failed", content: null, truncated: false };
  if (job.status === "queued" || job.status === "running") return "pending";
  const artifact =
    job.status === "completed" && typeof job.result === "object" && job.result && !Array.isArray(job.result)
      ? job.result.artifact
      : undefined;
  if (typeof artifact !== "string") return { status: "failed", content: null, truncated: false };
  return documentIndexText(await extractedDocument(env, jobId, artifact), maxBytes);
}
